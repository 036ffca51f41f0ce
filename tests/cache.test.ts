import { describe, expect, inject, it, vi } from "vitest";
import { type CacheKey, type CacheOptions, createCache } from "../src/adapters/cache.ts";
import { createUpstashStore } from "../src/adapters/kv.ts";
import { createLogger } from "../src/lib/log.ts";
import { SERVICE_AUTH_HEADER } from "../src/shared/realtime.ts";
import { apiWithEnv, jsonBody, withFault } from "./helpers/api.ts";
import { authed } from "./helpers/orgs.ts";
import { roomFixture } from "./helpers/realtime.ts";
import { bearer, registerUser } from "./helpers/users.ts";

/**
 * The read cache: cache-aside over the real Redis (through the Upstash bridge), versioned
 * invalidation, stampede protection, and what happens when Redis stops. Each `createUpstashStore`
 * call stands for one isolate: it gets its own memory tier, versions and breaker.
 */
const OPTS: CacheOptions = { memoryEntries: 100, memoryTtlMs: 2000, breakerMs: 2000, lockMs: 3000 };
const quiet = createLogger("error", {});
const isolate = (opts: Partial<CacheOptions> = {}, url = inject("upstashUrl"), timeoutMs = 1000) =>
  createCache(createUpstashStore(url, inject("upstashToken"), timeoutMs), { ...OPTS, ...opts }, quiet);
const keyOf = (id: string, deps = [`dep:${id}`]): CacheKey<{ n: number }> => ({
  ns: "test",
  id,
  ttlSeconds: 60,
  deps,
});
/** A loader that counts its calls: the "database reads". */
function counter(delayMs = 30) {
  let n = 0;
  return {
    get calls() {
      return n;
    },
    load: async () => {
      n++;
      await new Promise((r) => setTimeout(r, delayMs));
      return { n };
    },
  };
}

describe("cache layer (real Redis)", () => {
  it("shares entries through Redis, and one invalidation makes every dependent entry stale", async () => {
    const a = isolate();
    const b = isolate({ memoryTtlMs: 0 }); // no memory tier: sees Redis at once
    const shared = `dep:${crypto.randomUUID()}`;
    const k1 = keyOf(crypto.randomUUID(), [shared, `dep:${crypto.randomUUID()}`]);
    const k2 = keyOf(crypto.randomUUID(), [shared]);
    const db = counter(1);
    expect((await a.json(k1, db.load)).status).toBe("MISS");
    expect((await a.json(k2, db.load)).status).toBe("MISS");
    expect((await b.json(k1, db.load)).status).toBe("HIT"); // from Redis, filled by the other isolate
    expect((await a.json(k1, db.load)).status).toBe("HIT"); // from memory
    expect(db.calls).toBe(2);

    await b.invalidate(shared); // a write handled by the other isolate
    const again = await b.json(k1, db.load);
    expect(again.status).toBe("MISS");
    expect(again.value()).toEqual({ n: 3 });
    expect((await b.json(k2, db.load)).status).toBe("MISS");
    // Isolate A's memory copy of k1 may serve for up to memoryTtlMs; the same isolate's own
    // invalidation applies at once.
    await a.invalidate(k1.deps[1]!);
    expect((await a.json(k1, db.load)).status).toBe("MISS");
  });

  it("a failed load propagates and releases its lock: the next caller loads without waiting", async () => {
    const cache = isolate({ lockMs: 10_000 });
    const key = keyOf(crypto.randomUUID());
    await expect(cache.json(key, () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    const start = Date.now();
    const db = counter(1);
    expect((await cache.json(key, db.load)).status).toBe("MISS");
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it("a hung Redis: reads bypass within the timeout, then skip Redis while the breaker is open, logged once", async () => {
    const errors = vi.spyOn(console, "error");
    const cache = createCache(
      createUpstashStore(inject("hungUrl"), "token", 200),
      { ...OPTS, breakerMs: 60_000 },
      createLogger("error", {}),
    );
    const db = counter(1);
    const start = Date.now();
    const first = await cache.json(keyOf(crypto.randomUUID()), db.load);
    expect(first.status).toBe("BYPASS");
    expect(Date.now() - start).toBeLessThan(3000);
    for (let i = 0; i < 5; i++) {
      expect((await cache.json(keyOf(crypto.randomUUID()), db.load)).status).toBe("BYPASS");
    }
    await cache.invalidate("dep:x"); // never throws
    expect(db.calls).toBe(6);
    const logged = errors.mock.calls.filter((c) => String(c[0]).includes("cache_unavailable"));
    expect(logged).toHaveLength(1);
    errors.mockRestore();
  });
});

/**
 * Route tests use their own Redis timeout: their own client, cache state and breaker, so a slow
 * moment of the shared bridge under parallel test files cannot trip the breaker they observe.
 * Reads and the writes after them go through the same "isolate" (env), as one user's would.
 */
const ENV = { REDIS_TIMEOUT_MS: "3000" };
const call = (path: string, init?: RequestInit) => apiWithEnv(ENV, path, init);
const me = (token: string, headers: Record<string, string> = {}) => call("/v1/me", bearer(token, headers));
const get = (token: string, path: string) => call(path, bearer(token));
const json = async <T>(res: Response) => {
  expect(res.status, await res.clone().text()).toBe(200);
  return { cache: res.headers.get("x-cache"), body: (await res.json()) as T };
};
type Room = { id: string; name: string; lastSeq: number; unreadCount: number };
type History = { items: Array<{ id: string; seq: number; body: string; deletedAt: string | null }> };

/**
 * The stampede's waiters wait for the loader's lock up to DB_TIMEOUT_MS + 0.5 s, then load
 * themselves (by design: a stuck loader must not stall everyone). On a loaded 2-core machine
 * the first load can take seconds, so these tests give it 10 s; at most one revocation-view
 * refresh falls into the burst.
 */
const PATIENT = { DB_TIMEOUT_MS: "10000", REVOCATION_SYNC_MS: "60000" };

/**
 * 100 concurrent reads of a cold /v1/me, spread over `isolates`, counting the database round
 * trips each response reports (X-Petrel-Cost, counted in the database adapter). The one load
 * is a single read; the only other query allowed is one revocation-view refresh (the envs set
 * REVOCATION_SYNC_MS so that at most one falls into the burst). No stampede protection: ~100.
 */
async function expectOneLoad(isolates: Array<Record<string, string>>) {
  const u = await registerUser();
  const res = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      apiWithEnv(isolates[i % isolates.length]!, "/v1/me", bearer(u.accessToken)),
    ),
  );
  expect(res.map((r) => r.status)).toEqual(Array(100).fill(200));
  const statuses = res.map((r) => r.headers.get("x-cache"));
  expect(statuses.filter((s) => s === "MISS")).toHaveLength(1);
  expect(statuses.filter((s) => s === "HIT")).toHaveLength(99);
  const trips = res.map((r) => Number(/db=(\d+)/.exec(r.headers.get("x-petrel-cost") ?? "")?.[1]));
  expect(trips.every(Number.isInteger)).toBe(true);
  const total = trips.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThanOrEqual(1);
  expect(total).toBeLessThanOrEqual(2);
  expect(new Set(await Promise.all(res.map((r) => r.text()))).size).toBe(1);
}

describe("cached routes: writes invalidate reads", () => {
  it("GET /v1/me: HIT after the first read, fresh after a profile update", async () => {
    const u = await registerUser();
    expect((await json(await me(u.accessToken))).cache).toBe("MISS");
    expect((await json(await me(u.accessToken))).cache).toBe("HIT");
    const res = await call("/v1/me", authed(u.accessToken, "PATCH", { name: "Renamed Person" }));
    expect(res.status).toBe(200);
    const after = await json<{ name: string }>(await me(u.accessToken));
    expect(after).toEqual({ cache: "MISS", body: expect.objectContaining({ name: "Renamed Person" }) });
  });

  it("100 concurrent GET /v1/me on a cold key: one MISS, 99 HITs, and one database read in all", async () => {
    await expectOneLoad([{ ...ENV, ...PATIENT }]);
  });

  it("the Redis lock alone holds a stampede across isolates, with no memory tier", async () => {
    // Each distinct Redis timeout is its own store and cache state: two "isolates".
    const isolate = (timeout: string) => ({
      REDIS_TIMEOUT_MS: timeout,
      CACHE_MEMORY_ENTRIES: "0",
      ...PATIENT,
    });
    await expectOneLoad([isolate("3001"), isolate("3002")]);
  });

  it("GET /v1/orgs/:id: fresh after an update, and per caller role", async () => {
    const { owner, org, members } = await roomFixture(["admin"]);
    const admin = members[0]!;
    const read = (t: string) => get(t, `/v1/orgs/${org.id}`);
    expect((await json(await read(admin.accessToken))).cache).toBe("MISS");
    expect((await json<{ role: string }>(await read(admin.accessToken))).cache).toBe("HIT");
    expect(
      (await call(`/v1/orgs/${org.id}`, authed(owner.accessToken, "PATCH", { name: "New" }))).status,
    ).toBe(200);
    expect((await json<{ name: string }>(await read(admin.accessToken))).body.name).toBe("New");
    const demote = authed(owner.accessToken, "PATCH", { role: "member" });
    expect((await call(`/v1/orgs/${org.id}/members/${admin.id}`, demote)).status).toBe(200);
    expect((await json<{ role: string }>(await read(admin.accessToken))).body.role).toBe("member");
  });

  it("the room list follows rooms, room members, messages and read positions", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    const list = async (t = member.accessToken) =>
      (await json<{ items: Room[] }>(await get(t, `/v1/orgs/${org.id}/rooms`))).body.items;
    expect((await list()).map((r) => r.id)).toEqual([room.id]);
    expect((await json(await get(member.accessToken, `/v1/orgs/${org.id}/rooms`))).cache).toBe("HIT");
    const post = jsonBody({ body: "news", clientId: crypto.randomUUID() }, bearer(owner.accessToken));
    expect((await call(`/v1/rooms/${room.id}/messages`, post)).status).toBe(201);
    expect(await list()).toEqual([expect.objectContaining({ lastSeq: 1, unreadCount: 1 })]);
    const read = jsonBody({ seq: 1 }, bearer(member.accessToken));
    expect((await call(`/v1/rooms/${room.id}/read`, read)).status).toBe(204);
    expect(await list()).toEqual([expect.objectContaining({ unreadCount: 0 })]);
    const patch = authed(owner.accessToken, "PATCH", { name: "renamed" });
    expect((await call(`/v1/rooms/${room.id}`, patch)).status).toBe(200);
    expect((await list())[0]!.name).toBe("renamed");

    const created = await call(
      `/v1/orgs/${org.id}/rooms`,
      jsonBody({ name: "secret", visibility: "private" }, bearer(owner.accessToken)),
    );
    const priv = (await created.json()) as { id: string };
    expect((await list()).map((r) => r.id)).toEqual([room.id]);
    const add = jsonBody({ userId: member.id }, bearer(owner.accessToken));
    expect((await call(`/v1/rooms/${priv.id}/members`, add)).status).toBe(204);
    expect((await list()).map((r) => r.id)).toEqual([room.id, priv.id]);
    const remove = authed(owner.accessToken, "DELETE");
    expect((await call(`/v1/rooms/${priv.id}/members/${member.id}`, remove)).status).toBe(204);
    expect((await list()).map((r) => r.id)).toEqual([room.id]);
    expect((await call(`/v1/rooms/${room.id}`, authed(owner.accessToken, "DELETE"))).status).toBe(204);
    expect(await list()).toEqual([]);
  });

  it("the latest message page follows new, edited and deleted messages, socket ones included", async () => {
    const { owner, room } = await roomFixture();
    const page = async (q = "") =>
      json<History>(await get(owner.accessToken, `/v1/rooms/${room.id}/messages${q}`));
    const send = async (body: string) => {
      const res = await call(
        `/v1/rooms/${room.id}/messages`,
        jsonBody({ body, clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
      );
      return (await res.json()) as { id: string };
    };
    const first = await send("one");
    expect((await page()).cache).toBe("MISS");
    expect((await page("?limit=1")).cache).toBe("MISS");
    expect((await page()).cache).toBe("HIT");
    await send("two");
    expect((await page()).body.items.map((m) => m.body)).toEqual(["one", "two"]);
    expect((await page("?limit=1")).body.items.map((m) => m.body)).toEqual(["two"]);
    const edit = authed(owner.accessToken, "PATCH", { body: "uno" });
    expect((await call(`/v1/messages/${first.id}`, edit)).status).toBe(200);
    expect((await page()).body.items[0]!.body).toBe("uno");
    expect((await call(`/v1/messages/${first.id}`, authed(owner.accessToken, "DELETE"))).status).toBe(204);
    expect((await page()).body.items[0]).toMatchObject({ body: "", deletedAt: expect.any(String) });
    // The parties persist socket messages through the internal route.
    const internal = await call(
      `/v1/internal/rooms/${room.id}/messages`,
      jsonBody(
        { body: "from a socket", clientId: crypto.randomUUID(), authorId: owner.id },
        { headers: { [SERVICE_AUTH_HEADER]: inject("bindings").SERVICE_TOKEN! } },
      ),
    );
    expect(internal.status).toBe(201);
    expect((await page()).body.items.map((m) => m.body)).toEqual(["", "two", "from a socket"]);
    // Pages with a cursor are never cached.
    const older = await get(owner.accessToken, `/v1/rooms/${room.id}/messages?beforeSeq=3`);
    expect(older.headers.get("x-cache")).toBeNull();
  });
});

describe("cached routes with Redis stopped mid-test", () => {
  it("answer 200 with X-Cache: BYPASS within the timeout, writes still apply, and the cache comes back", async () => {
    await withFault("fault-redis", async (fault) => {
      const faulty = { UPSTASH_REDIS_REST_URL: inject("faultUpstashUrl"), REDIS_TIMEOUT_MS: "300" };
      const call = (path: string, init: RequestInit) => apiWithEnv(faulty, path, init);
      const { owner, org, room } = await roomFixture();
      const t = owner.accessToken;
      expect((await call("/v1/me", bearer(t))).headers.get("x-cache")).toBe("MISS");
      await fault.stop();
      try {
        // The write cannot reach Redis; this isolate still drops its own copy (no stale read here).
        const patch = await call("/v1/me", authed(t, "PATCH", { name: "During Outage" }));
        expect(patch.status).toBe(200);
        for (const path of [
          "/v1/me",
          `/v1/orgs/${org.id}`,
          `/v1/orgs/${org.id}/rooms`,
          `/v1/rooms/${room.id}/messages`,
        ]) {
          const start = Date.now();
          const res = await call(path, bearer(t));
          expect(res.status, path).toBe(200);
          expect(res.headers.get("x-cache"), path).toBe("BYPASS");
          expect(Date.now() - start, path).toBeLessThan(3000); // REDIS_TIMEOUT_MS (300), a loaded machine
          if (path === "/v1/me") expect(((await res.json()) as { name: string }).name).toBe("During Outage");
        }
      } finally {
        await fault.start();
      }
      // Once the breaker closes (CACHE_BREAKER_MS) and the bridge has reconnected, reads use Redis again.
      let status: string | null = null;
      for (let i = 0; i < 60 && status !== "MISS" && status !== "HIT"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await call(`/v1/orgs/${org.id}`, bearer(t))).headers.get("x-cache");
      }
      expect(["MISS", "HIT"]).toContain(status);
    });
  });
});
