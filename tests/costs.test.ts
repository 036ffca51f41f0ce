import { describe, expect, inject, it } from "vitest";
import { createUpstashStore } from "../src/adapters/kv.ts";
import { countTrips } from "../src/lib/costs.ts";
import { apiWithEnv, jsonBody } from "./helpers/api.ts";
import { bearer, registerUser } from "./helpers/users.ts";

/**
 * X-Petrel-Cost (COST_HEADERS=on, as in every test): the round trips a request made, counted
 * where they leave the Worker (the database client's fetch in src/db/client.ts, the Upstash
 * requester in src/adapters/kv.ts), per request through src/lib/costs.ts. The bench's cost
 * table is built from these headers.
 */
const cost = (res: Response) => {
  const m = /^db=(\d+), redis=(\d+)$/.exec(res.headers.get("x-petrel-cost") ?? "");
  if (!m) throw new Error(`no X-Petrel-Cost: ${res.headers.get("x-petrel-cost")}`);
  return { db: Number(m[1]), redis: Number(m[2]) };
};

/** At most one revocation-view refresh a minute: it would add a database read to any request. */
const QUIET_SYNC = { REVOCATION_SYNC_MS: "60000" };

describe("round-trip counting", () => {
  it("counts every HTTP request the Upstash client sends: commands, pipelines, MULTI", async () => {
    const store = createUpstashStore(inject("upstashUrl"), inject("upstashToken"), 3000);
    const redis = store.redis!;
    const key = `costs:${crypto.randomUUID()}`;
    const trips = { db: 0, redis: 0 };
    await countTrips(trips, async () => {
      await store.set(key, "1", 60);
      await store.get(key);
      await redis.pipeline().get(key).get(key).del(key).exec();
      await redis.multi().incr(key).pexpire(key, 1000).exec();
    });
    expect(trips.redis).toBe(4);
    // Outside a counted request nothing is recorded, and nothing breaks.
    await store.del(key);
    expect(trips.redis).toBe(4);
  });

  it("a cached read served from Redis costs one MGET and no database read; from memory, nothing", async () => {
    // A fresh "isolate" (its own store), no memory tier: a HIT must come from Redis.
    const isolate = { REDIS_TIMEOUT_MS: "3007", CACHE_MEMORY_ENTRIES: "0", ...QUIET_SYNC };
    const u = await registerUser();
    const miss = await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken));
    expect(miss.headers.get("x-cache")).toBe("MISS");
    expect(cost(miss).db).toBeGreaterThanOrEqual(1); // the profile, and maybe a revocation sync
    expect(cost(miss).redis).toBeGreaterThanOrEqual(3); // read, lock, write (+ rate limit, versions)

    const hit = await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken));
    expect(hit.headers.get("x-cache")).toBe("HIT");
    // The rate limiter counts this hit locally (its lease from the first sync); the cache: one MGET.
    expect(cost(hit)).toEqual({ db: 0, redis: 1 });

    const memory = { REDIS_TIMEOUT_MS: "3008", ...QUIET_SYNC };
    await apiWithEnv(memory, "/v1/me", bearer(u.accessToken));
    const fromMemory = await apiWithEnv(memory, "/v1/me", bearer(u.accessToken));
    expect(fromMemory.headers.get("x-cache")).toBe("HIT");
    expect(cost(fromMemory)).toEqual({ db: 0, redis: 0 });
  });

  it("a bypassed read costs the one database read and no Redis round trip for the cache", async () => {
    const isolate = { REDIS_TIMEOUT_MS: "3009", ...QUIET_SYNC };
    const u = await registerUser();
    await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken)); // the rate limiter's first sync
    const res = await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken, { "cache-control": "no-cache" }));
    expect(res.headers.get("x-cache")).toBe("BYPASS");
    expect(cost(res)).toEqual({ db: 1, redis: 0 });
  });

  it("the isolate's one database client counts each of many concurrent requests exactly", async () => {
    const isolate = { REDIS_TIMEOUT_MS: "3013", ...QUIET_SYNC };
    const u = await registerUser();
    await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken)); // the rate limiter's first sync
    // More at once than the libSQL client's default queue (20): none waits on another's slot.
    const res = await Promise.all(
      Array.from({ length: 40 }, () =>
        apiWithEnv(isolate, "/v1/me", bearer(u.accessToken, { "cache-control": "no-cache" })),
      ),
    );
    expect(res.map((r) => r.status)).toEqual(res.map(() => 200));
    expect(res.map((r) => cost(r).db)).toEqual(res.map(() => 1));
  });
});

describe("the API limit's Redis cost under concurrency", () => {
  it("far from the limit, requests arriving while a sync is on its way count locally: no sync each", async () => {
    const isolate = { REDIS_TIMEOUT_MS: "3011", ...QUIET_SYNC };
    const u = await registerUser();
    // The first request syncs the user's counter: the isolate now holds a local batch of 100.
    await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken));
    await apiWithEnv(isolate, "/v1/me", bearer(u.accessToken)); // the read is in the memory tier
    // 150 at once: 99 fit the batch, one syncs, and those that arrive during its round trip
    // are counted locally (they go with the next sync) instead of syncing one by one.
    const res = await Promise.all(
      Array.from({ length: 150 }, () => apiWithEnv(isolate, "/v1/me", bearer(u.accessToken))),
    );
    expect(res.map((r) => r.status)).toEqual(Array(150).fill(200));
    const redis = res.reduce((n, r) => n + cost(r).redis, 0);
    expect(redis).toBeGreaterThanOrEqual(1);
    expect(redis).toBeLessThanOrEqual(3);
  });
});

describe("refresh", () => {
  it("a rotation is one database round trip (rotate and read the session's user in one batch)", async () => {
    const u = await registerUser();
    const res = await apiWithEnv(
      QUIET_SYNC,
      "/v1/auth/refresh",
      jsonBody({ refreshToken: u.refreshToken }, { headers: { "cf-connecting-ip": u.ip } }),
    );
    expect(res.status).toBe(200);
    expect(cost(res).db).toBe(1);
    const body = (await res.json()) as { user: { id: string }; refreshToken: string };
    expect(body.user.id).toBe(u.id);
    expect(body.refreshToken).not.toBe(u.refreshToken);
  });
});
