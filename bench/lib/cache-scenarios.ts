/**
 * Cache scenarios: GET /v1/me served from the cache and with the cache bypassed, the classic-stack
 * baseline (bench/baseline/express-me.ts) doing the same work, the latest message page, posting a
 * message, and the cached route with Redis stopped. Each setup checks X-Cache before measuring,
 * so a row never silently measures something else.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { join } from "node:path";
import Redis from "ioredis";
import jwt from "jsonwebtoken";
import { freePort, httpOk, startProcess, waitFor } from "../../scripts/lib/procs.ts";
import { OFFLINE_ENV, startRedis } from "../../scripts/lib/stack.ts";
import { register } from "./identity-scenarios.ts";
import type { BenchContext, Prepared, Scenario } from "./scenarios.ts";

async function call(ctx: BenchContext, path: string, token: string, init: RequestInit = {}) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  return ctx.request(path, { ...init, headers: { ...headers, ...(init.headers as object) } });
}

/** A user with an org and a public room holding `messages` messages. */
export async function roomWithMessages(ctx: BenchContext, messages: number) {
  const u = await register(ctx, "room");
  const org = await call(ctx, "/v1/orgs", u.accessToken, {
    method: "POST",
    body: JSON.stringify({ name: "Bench" }),
  });
  const orgId = ((await org.json()) as { id: string }).id;
  const room = await call(ctx, `/v1/orgs/${orgId}/rooms`, u.accessToken, {
    method: "POST",
    body: JSON.stringify({ name: "bench", visibility: "public" }),
  });
  const roomId = ((await room.json()) as { id: string }).id;
  for (let i = 0; i < messages; i++) {
    const body = JSON.stringify({ body: `message ${i} with a few words in it`, clientId: randomUUID() });
    const res = await call(ctx, `/v1/rooms/${roomId}/messages`, u.accessToken, { method: "POST", body });
    if (res.status !== 201) throw new Error(`post failed: ${res.status}`);
  }
  return { ...u, orgId, roomId };
}

/** Request `path` until X-Cache says `want` (the warm-up also fills the cache). */
async function expectCache(ctx: BenchContext, path: string, headers: Record<string, string>, want: string) {
  let got: string | null = null;
  for (let i = 0; i < 50 && got !== want; i++) {
    const res = await ctx.request(path, { headers });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    got = res.headers.get("x-cache");
    if (got !== want) await new Promise((r) => setTimeout(r, 100));
  }
  if (got !== want) throw new Error(`${path}: X-Cache is ${got}, expected ${want}`);
}

/** Point the scenario's load (and probe) at another server; teardown points it back. */
function retarget(ctx: BenchContext, url: string): () => void {
  const { baseUrl, request } = ctx;
  ctx.baseUrl = url;
  ctx.request = (path, init) => fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  return () => {
    ctx.baseUrl = baseUrl;
    ctx.request = request;
  };
}

async function expressBaseline(ctx: BenchContext): Promise<Prepared> {
  const u = await register(ctx, "express"); // the profile row the baseline reads from sqld
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const token = jwt.sign({ sid: randomUUID(), role: "user" }, privateKey, {
    algorithm: "ES256",
    header: { alg: "ES256", typ: "at+jwt", kid: "bench" },
    subject: u.id,
    issuer: ctx.vars.JWT_ISSUER,
    audience: ctx.vars.JWT_AUDIENCE,
    expiresIn: 900,
    jwtid: randomUUID(),
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(
    "express",
    process.execPath,
    [join(import.meta.dirname, "../baseline/express-me.ts")],
    {
      env: {
        ...OFFLINE_ENV,
        PORT: String(port),
        REDIS_URL: ctx.services.redisUrl,
        LIBSQL_URL: ctx.services.libsqlUrl,
        JWT_PUBLIC_KEY_PEM: publicKey.export({ type: "spki", format: "pem" }).toString(),
        JWT_ISSUER: ctx.vars.JWT_ISSUER!,
        JWT_AUDIENCE: ctx.vars.JWT_AUDIENCE!,
      },
    },
  );
  await waitFor("express baseline", () => httpOk(`${url}/v1/me`), { proc, timeoutMs: 15_000 });
  const restore = retarget(ctx, url);
  const headers = { authorization: `Bearer ${token}` };
  await expectCache(ctx, "/v1/me", headers, "HIT");
  return {
    headers,
    servedBy: proc.child.pid,
    teardown: async () => {
      restore();
      await proc.stop();
    },
  };
}

async function redisDown(ctx: BenchContext): Promise<Prepared> {
  const u = await register(ctx, "outage"); // before the outage: auth routes fail closed without Redis
  const headers = { authorization: `Bearer ${u.accessToken}` };
  await expectCache(ctx, "/v1/me", headers, "HIT");
  const port = Number(new URL(ctx.services.redisUrl).port);
  const admin = new Redis(ctx.services.redisUrl, { maxRetriesPerRequest: 0 });
  await admin.call("SHUTDOWN", "NOSAVE").catch(() => {}); // the connection drops with the server
  admin.disconnect();
  await expectCache(ctx, "/v1/me", headers, "BYPASS");
  return {
    headers,
    teardown: async () => {
      // Back on the same port; the bridge reconnects by itself. Stopped at exit like every child.
      await startRedis({ port });
      await waitFor("redis through the Worker", async () => {
        const res = await ctx.request("/ready");
        const body = (await res.json()) as { checks?: { cache?: { ok: boolean } } };
        return body.checks?.cache?.ok === true;
      });
    },
  };
}

export const cacheScenarios: Scenario[] = [
  {
    name: "me-cached",
    method: "GET",
    path: "/v1/me",
    description: "GET /v1/me, cache hit (memory tier; JWT verify + revocation + API rate limit in Redis)",
    setup: async (ctx) => {
      const u = await register(ctx, "cached");
      const headers = { authorization: `Bearer ${u.accessToken}` };
      await expectCache(ctx, "/v1/me", headers, "HIT");
      return { headers };
    },
  },
  {
    name: "me-nocache",
    method: "GET",
    path: "/v1/me",
    description: "GET /v1/me with Cache-Control: no-cache: the cache bypassed, the profile read from sqld",
    setup: async (ctx) => {
      const u = await register(ctx, "nocache");
      const headers = { authorization: `Bearer ${u.accessToken}`, "cache-control": "no-cache" };
      await expectCache(ctx, "/v1/me", headers, "BYPASS");
      return { headers };
    },
  },
  {
    name: "express-me",
    method: "GET",
    path: "/v1/me",
    description: "Classic stack: Express 5 + jsonwebtoken (ES256 KeyObject) + ioredis, cached GET /v1/me",
    setup: expressBaseline,
  },
  {
    name: "messages-latest",
    method: "GET",
    path: "/v1/rooms/:id/messages",
    description: "The latest page (50 messages), cached; room access from the read cache (bounded age)",
    setup: async (ctx) => {
      const r = await roomWithMessages(ctx, 50);
      const headers = { authorization: `Bearer ${r.accessToken}` };
      const path = `/v1/rooms/${r.roomId}/messages`;
      await expectCache(ctx, path, headers, "HIT");
      return { path, headers };
    },
  },
  {
    name: "rooms-list",
    method: "GET",
    path: "/v1/orgs/:id/rooms",
    description: "An org's room list, cached; the caller's org role comes from the read cache too",
    setup: async (ctx) => {
      const r = await roomWithMessages(ctx, 5);
      const headers = { authorization: `Bearer ${r.accessToken}` };
      const path = `/v1/orgs/${r.orgId}/rooms`;
      await expectCache(ctx, path, headers, "HIT");
      return { path, headers };
    },
  },
  {
    name: "messages-post",
    method: "POST",
    path: "/v1/rooms/:id/messages",
    description:
      "Post a message (new clientId each): seq allocation + insert in one batch, cache invalidation",
    setup: async (ctx) => {
      const r = await roomWithMessages(ctx, 0);
      const body = () => JSON.stringify({ body: "hello from the benchmark", clientId: randomUUID() });
      return {
        path: `/v1/rooms/${r.roomId}/messages`,
        headers: { authorization: `Bearer ${r.accessToken}`, "content-type": "application/json" },
        body: body(),
        setupRequest: (req) => ({ ...req, body: body() }),
      };
    },
  },
  {
    name: "me-redis-down",
    method: "GET",
    path: "/v1/me",
    description: "GET /v1/me with redis-server stopped: the cache bypassed, rate limit failing open",
    setup: redisDown,
  },
];
