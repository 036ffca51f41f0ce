/**
 * The realtime scenarios' users: distinct users, at most MAX_SOCKETS_PER_USER sockets each, all
 * members of one org with one public room.
 *
 * The owner registers through the API (one production password hash) and creates the org and
 * the room through it. The other users, their org memberships and their sessions are written to
 * sqld by the bench itself: registering 1,000 users through the API would cost 1,000 password
 * hashes at 600,000 PBKDF2 iterations (minutes of CPU), which is not what the realtime scenario
 * measures. Their access tokens are signed with the bench Worker's own key and claims
 * (src/services/identity/tokens.ts), so from tickets on everything goes through the real path:
 * ticket route, party admission, access checks, session revocation checks.
 */
import { createClient } from "@libsql/client/web";
import type { PrivateJwk } from "../../src/config/jwt-keys.ts";
import type { Config } from "../../src/config.ts";
import { signAccessToken } from "../../src/services/identity/tokens.ts";
import { DEFAULT_MAX_SOCKETS_PER_USER } from "../../src/shared/realtime.ts";
import type { BenchContext } from "./scenarios.ts";

/** The party's per-user socket cap (party/env.ts default; the bench party does not change it). */
export const SOCKETS_PER_USER = DEFAULT_MAX_SOCKETS_PER_USER;

export interface BenchRoom {
  roomId: string;
  orgId: string;
  /** One access token per user; client i uses token i % tokens.length (so senders 0..S-1 differ). */
  tokens: string[];
}

async function postJson(ctx: BenchContext, path: string, body: unknown, token?: string) {
  const res = await ctx.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Users needed so that `clients` sockets stay within the per-user cap. */
export const usersFor = (clients: number) => Math.max(1, Math.ceil(clients / SOCKETS_PER_USER));

/** The owner through the API, then `users - 1` members seeded in sqld (see the file comment). */
export async function createBenchRoom(ctx: BenchContext, users: number): Promise<BenchRoom> {
  const owner = await postJson(ctx, "/v1/auth/register", {
    email: `realtime-${crypto.randomUUID()}@bench.test`,
    password: "benchmark passphrase 2026",
    name: "Bench realtime",
  });
  const ownerToken = String(owner.accessToken);
  const org = await postJson(ctx, "/v1/orgs", { name: "Bench realtime" }, ownerToken);
  const room = await postJson(
    ctx,
    `/v1/orgs/${String(org.id)}/rooms`,
    { name: "bench", visibility: "public" },
    ownerToken,
  );
  const orgId = String(org.id);
  const tokens = [ownerToken, ...(await seedMembers(ctx, orgId, users - 1))];
  return { roomId: String(room.id), orgId, tokens };
}

async function seedMembers(ctx: BenchContext, orgId: string, count: number): Promise<string[]> {
  const db = createClient({ url: ctx.services.libsqlUrl });
  const expires = new Date(Date.now() + 86_400_000).toISOString();
  const people = Array.from({ length: count }, () => ({
    id: crypto.randomUUID(),
    sid: crypto.randomUUID(),
  }));
  try {
    for (let i = 0; i < people.length; i += 200) {
      const chunk = people.slice(i, i + 200);
      const stmts = chunk.flatMap((p, j) => [
        {
          sql: "insert into users (id, email, name, handle) values (?, ?, ?, ?)",
          args: [
            p.id,
            `rt-${p.id}@bench.test`,
            `Bench user ${i + j}`,
            `rt_${p.id.replaceAll("-", "").slice(0, 24)}`,
          ],
        },
        {
          sql: "insert into memberships (org_id, user_id, role) values (?, ?, 'member')",
          args: [orgId, p.id],
        },
        {
          sql: "insert into sessions (id, user_id, refresh_hash, expires_at) values (?, ?, ?, ?)",
          args: [p.sid, p.id, `bench-${p.sid}`, expires],
        },
      ]);
      await db.batch(stmts, "write");
    }
  } finally {
    db.close();
  }
  const config = {
    JWT_PRIVATE_KEYS: JSON.parse(ctx.vars.JWT_PRIVATE_KEYS!) as PrivateJwk[],
    JWT_ISSUER: ctx.vars.JWT_ISSUER!,
    JWT_AUDIENCE: ctx.vars.JWT_AUDIENCE!,
    // The Worker caps a token's lifetime at its own ACCESS_TOKEN_TTL (default 15 min).
    ACCESS_TOKEN_TTL: Number(ctx.vars.ACCESS_TOKEN_TTL ?? 900),
  } as unknown as Config;
  return Promise.all(people.map((p) => signAccessToken(config, { sub: p.id, sid: p.sid, role: "user" })));
}
