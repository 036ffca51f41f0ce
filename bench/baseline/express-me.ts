/**
 * The classic-stack baseline for the cached `GET /v1/me`: Express 5 + jsonwebtoken (with a
 * KeyObject) + ioredis, one Node process, doing the same work per request as Petrel's cached route:
 * verify an asymmetric access token (iss, aud, typ, exp), count the per-user rate limit, check the
 * session's revocation and read the cached profile (all three in ONE pipelined Redis round trip),
 * read sqld on a miss, answer with a strong ETag / 304, `Cache-Control: private, no-cache`,
 * `X-Cache` and a request id. jsonwebtoken has no EdDSA, so this baseline verifies ES256 (P-256);
 * Petrel verifies Ed25519.
 *
 * Usage (started by bench/lib/cache-scenarios.ts): node bench/baseline/express-me.ts
 * env: PORT, REDIS_URL, LIBSQL_URL, JWT_PUBLIC_KEY_PEM, JWT_ISSUER, JWT_AUDIENCE
 */
import { createHash, createPublicKey, randomUUID } from "node:crypto";
import { createClient } from "@libsql/client/web";
import express from "express";
import Redis from "ioredis";
import jwt from "jsonwebtoken";

const need = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const publicKey = createPublicKey(need("JWT_PUBLIC_KEY_PEM"));
const issuer = need("JWT_ISSUER");
const audience = need("JWT_AUDIENCE");
const redis = new Redis(need("REDIS_URL"), { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
const db = createClient({ url: need("LIBSQL_URL") });
const TTL_S = 300;
const RATE_LIMIT = 100_000_000;

interface Claims {
  sub: string;
  sid: string;
}

async function loadProfile(userId: string): Promise<{ body: string; etag: string } | null> {
  const rs = await db.execute({
    sql: "select id, email, name, handle, role, email_verified_at, created_at from users where id = ? and disabled_at is null",
    args: [userId],
  });
  const u = rs.rows[0];
  if (!u) return null;
  const body = JSON.stringify({
    id: u.id,
    email: u.email,
    name: u.name,
    handle: u.handle,
    role: u.role,
    emailVerified: u.email_verified_at !== null,
    createdAt: u.created_at,
  });
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url")}"` };
}

const problem = (res: express.Response, status: number, code: string) =>
  res.status(status).type("application/problem+json").send(JSON.stringify({ status, code }));

const app = express();
app.disable("x-powered-by");
app.set("etag", false); // ETags come from the cache entry, not from hashing every response

app.get("/v1/me", async (req, res) => {
  res.set("X-Request-Id", randomUUID());
  const m = /^Bearer (.+)$/.exec(req.get("authorization") ?? "");
  let claims: Claims;
  try {
    const decoded = jwt.verify(m?.[1] ?? "", publicKey, {
      algorithms: ["ES256"],
      issuer,
      audience,
      complete: true,
    });
    if (decoded.header.typ !== "at+jwt") throw new Error("typ");
    claims = decoded.payload as unknown as Claims;
  } catch {
    return problem(res, 401, "unauthorized");
  }
  const [[, hits], [, revoked], [, cached]] = (await redis
    .pipeline()
    .incr(`rl:api:${claims.sub}`)
    .get(`revoked:${claims.sid}`)
    .get(`me:${claims.sub}`)
    .exec()) as [[unknown, number], [unknown, string | null], [unknown, string | null]];
  if (hits === 1) void redis.expire(`rl:api:${claims.sub}`, 60);
  if (hits > RATE_LIMIT) return problem(res, 429, "rate_limited");
  if (revoked) return problem(res, 401, "unauthorized");
  let entry = cached ? (JSON.parse(cached) as { body: string; etag: string }) : null;
  const status = entry ? "HIT" : "MISS";
  if (!entry) {
    entry = await loadProfile(claims.sub);
    if (!entry) return problem(res, 404, "not_found");
    await redis.set(`me:${claims.sub}`, JSON.stringify(entry), "EX", TTL_S);
  }
  res.set({
    ETag: entry.etag,
    "Cache-Control": "private, no-cache",
    Vary: "Authorization",
    "X-Cache": status,
  });
  if (req.get("if-none-match") === entry.etag) return res.status(304).end();
  res.type("application/json").send(entry.body);
});

const port = Number(need("PORT"));
const server = app.listen(port, "127.0.0.1", () => console.log(`express baseline on 127.0.0.1:${port}`));
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    server.close();
    redis.disconnect();
    process.exit(0);
  });
}
