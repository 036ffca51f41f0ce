// Hand-written: no well-kept library does versioned cache-aside over Upstash with a per-isolate tier in Workers.
import { sha256 } from "../../lib/crypto.ts";
import type { Logger } from "../../lib/log.ts";
import type { Cache, CachedJson, CacheKey, CacheOptions, CacheStatus } from "../cache.ts";
import type { KeyValueStore } from "../kv.ts";
import { MemoryTier } from "./memory.ts";
import {
  newRedisTierState,
  PREFIX,
  type RedisEntry,
  type RedisTierState,
  RedisUnavailable,
  redisTier,
} from "./redis.ts";

/** Per isolate and store: each tier's state outlives the request that created it. */
const states = new WeakMap<KeyValueStore, { memory: MemoryTier; redis: RedisTierState }>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function render<T>(value: T, status: CacheStatus): Promise<CachedJson<T>> {
  const body = JSON.stringify(value);
  return { status, body, etag: `"${await sha256(body)}"`, value: () => value };
}
const fromEntry = <T>(e: { body: string; etag: string }, status: CacheStatus): CachedJson<T> => ({
  status,
  body: e.body,
  etag: e.etag,
  value: () => JSON.parse(e.body) as T,
});

/** The memory tier in front of the Redis tier (or alone, degraded, when no Redis is configured). */
export function createCache(kv: KeyValueStore, opts: CacheOptions, log: Logger): Cache {
  let st = states.get(kv);
  if (!st) {
    st = { memory: new MemoryTier(), redis: newRedisTierState() };
    states.set(kv, st);
  }
  const mem = st.memory;
  const redis = kv.redis ? redisTier(kv.redis, st.redis, opts.breakerMs, log) : undefined;
  type Tier = NonNullable<typeof redis>;

  /** How long this isolate keeps a document it just loaded or read from Redis. */
  const memoryTtl = (key: CacheKey<unknown>) =>
    Math.min(opts.memoryTtlMs, key.ttlSeconds * 1000, key.maxAgeMs ?? Number.POSITIVE_INFINITY);

  async function redisRead<T>(
    tier: Tier,
    key: CacheKey<T>,
    full: string,
    snap: number[],
    produce: () => Promise<CachedJson<T>>,
  ): Promise<CachedJson<T>> {
    const { entry, stamp } = await tier.read(full, key.deps);
    const memTtl = memoryTtl(key);
    // Current: stamped with the deps' versions now, and (with maxAgeMs) young enough.
    const current = (e: RedisEntry | null): e is RedisEntry =>
      e?.s === stamp &&
      (key.maxAgeMs === undefined || (e.t !== undefined && Date.now() - e.t < key.maxAgeMs));
    const hit = (e: RedisEntry) => {
      const left = key.maxAgeMs === undefined ? memTtl : Math.min(memTtl, key.maxAgeMs - (Date.now() - e.t!));
      mem.set(full, { stamp, snap, etag: e.e, body: e.b }, left, opts.memoryEntries);
      return fromEntry<T>({ body: e.b, etag: e.e }, "HIT");
    };
    if (current(entry)) return hit(entry);

    const lockKey = `${full}:lock`;
    const { locked, entry: landed } = await tier.lock(lockKey, full, opts.lockMs);
    if (current(landed)) {
      if (locked) await tier.unlock(lockKey);
      return hit(landed);
    }
    if (!locked) {
      // Someone else is loading it: poll (memory first, for a winner in this isolate) until it
      // lands, the lock goes away without it (their load failed), or the wait is over.
      // The interval grows (10 ms → 200 ms, jittered): a hundred waiters must not turn one slow
      // load into thousands of Redis calls a second, which is what makes the load slower still.
      const deadline = Date.now() + opts.lockMs;
      for (let wait = 10; Date.now() < deadline; wait = Math.min(200, wait * 1.5)) {
        await sleep(wait * (0.75 + Math.random() / 2));
        const m = mem.get(full, snap);
        if (m?.stamp === stamp) return fromEntry<T>(m, "HIT");
        const [e, lock] = await tier.peek(full, lockKey);
        if (current(e)) return hit(e);
        if (lock === null) break;
      }
    }
    try {
      const loadedAt = Date.now(); // before the load: the data is at most this old
      const doc = await produce();
      mem.set(full, { stamp, snap, etag: doc.etag, body: doc.body }, memTtl, opts.memoryEntries);
      const stored = { s: stamp, e: doc.etag, b: doc.body, t: loadedAt };
      await tier.write(full, stored, key.ttlSeconds, locked ? lockKey : null);
      return doc;
    } catch (err) {
      if (locked) await tier.unlock(lockKey);
      throw err;
    }
  }

  return {
    mode: redis ? "redis" : "memory",
    async json<T>(key: CacheKey<T>, load: () => Promise<T>, o: { bypass?: boolean } = {}) {
      if (o.bypass || key.maxAgeMs === 0) return render(await load(), "BYPASS");
      const full = `${PREFIX}${key.ns}:${key.id}`;
      const snap = mem.snapshot(key.deps);
      const m = mem.get(full, snap);
      if (m) return fromEntry<T>(m, "HIT");
      if (!redis) {
        // Degraded (no Redis configured): the memory tier alone, entries live for the namespace TTL.
        const doc = await render(await load(), "MISS");
        mem.set(
          full,
          { stamp: "", snap, etag: doc.etag, body: doc.body },
          Math.min(key.ttlSeconds * 1000, key.maxAgeMs ?? Number.POSITIVE_INFINITY),
          opts.memoryEntries,
        );
        return doc;
      }
      if (redis.isDown()) return render(await load(), "BYPASS");
      let loaded: CachedJson<T> | undefined;
      try {
        return await redisRead(redis, key, full, snap, async () => {
          loaded = await render(await load(), "MISS");
          return loaded;
        });
      } catch (err) {
        if (!(err instanceof RedisUnavailable)) throw err;
        return loaded ? { ...loaded, status: "BYPASS" } : render(await load(), "BYPASS");
      }
    },
    async invalidate(...deps: string[]) {
      // Locally first: this isolate's memory tier is right at once, whatever Redis does.
      mem.bump(deps);
      if (redis) await redis.invalidate(deps);
    },
  };
}
