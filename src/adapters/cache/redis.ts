// Hand-written: no well-kept library does versioned cache-aside over Upstash with a per-isolate tier in Workers.
import type { Redis } from "@upstash/redis/cloudflare";
import { createThrottledLog, errorFields, type Logger } from "../../lib/log.ts";

/** A document in Redis: the stamp (version tokens of its deps), its ETag, its bytes, when it was loaded (ms). */
export interface RedisEntry {
  s: string;
  e: string;
  b: string;
  t?: number;
}

/** Per isolate and store: the breaker, invalidations still to write, outage logging. */
export interface RedisTierState {
  downUntil: number;
  pending: Set<string>;
  /** Outage logging, throttled per store: each store's first failure is always logged. */
  outageLog: ReturnType<typeof createThrottledLog>;
}

export const PREFIX = "c1:";
const VERSION_TTL_S = 2 * 86_400;

/** Thrown by the tier's calls only: lets Redis failures be told apart from the loader's own errors. */
export class RedisUnavailable extends Error {}

const token = () => `v${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

export const newRedisTierState = (): RedisTierState => ({
  downUntil: 0,
  pending: new Set(),
  outageLog: createThrottledLog(30_000),
});

/**
 * The shared tier: version tokens (`invalidate(dep)` writes a new one), entries stamped with
 * them, the miss lock (SET NX PX), and a breaker so a slow or dead Redis is skipped for
 * `breakerMs` instead of being waited on by every request.
 */
export function redisTier(redis: Redis, s: RedisTierState, breakerMs: number, log: Logger) {
  /** Every Redis call: a failure opens the breaker (logged once per interval) and throws RedisUnavailable. */
  async function r<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await fn(redis);
    } catch (err) {
      s.downUntil = Date.now() + breakerMs;
      s.outageLog("cache", () =>
        log.error("cache unavailable: reads bypass it until Redis answers again", {
          event: "cache_unavailable",
          breakerMs,
          ...errorFields(err),
        }),
      );
      throw new RedisUnavailable();
    }
  }

  /** Write new tokens for the pending invalidations; on failure they stay pending (retried later). */
  async function flushPending() {
    const batch = [...s.pending];
    s.pending.clear();
    try {
      await r(async (redis) => {
        const p = redis.pipeline();
        for (const d of batch) p.set(`${PREFIX}v:${d}`, token(), { ex: VERSION_TTL_S });
        await p.exec();
      });
    } catch (err) {
      for (const d of batch) s.pending.add(d);
      throw err;
    }
  }

  /** The current version token of each dep; a missing one is created (SET NX), never assumed. */
  async function versions(deps: string[], found: (string | null)[]): Promise<string> {
    const missing = deps.filter((_, i) => found[i] == null);
    if (missing.length > 0) {
      const created = await r(async (redis) => {
        const p = redis.pipeline();
        for (const d of missing) {
          p.set(`${PREFIX}v:${d}`, token(), { nx: true, ex: VERSION_TTL_S }).get(`${PREFIX}v:${d}`);
        }
        return (await p.exec()) as unknown[];
      });
      let j = 0;
      found = found.map((v) => v ?? String(created[2 * j++ + 1]));
    }
    return found.join(",");
  }

  return {
    isDown: () => Date.now() < s.downUntil,

    /** The entry and the stamp it must carry to be current: one MGET (entry + versions). */
    async read(full: string, deps: string[]): Promise<{ entry: RedisEntry | null; stamp: string }> {
      if (s.pending.size > 0) await flushPending();
      const vkeys = deps.map((d) => `${PREFIX}v:${d}`);
      const [entry, ...found] = await r((redis) =>
        redis.mget<[RedisEntry | null, ...(string | null)[]]>(full, ...vkeys),
      );
      return { entry, stamp: await versions(deps, found) };
    },
    /**
     * Take the miss lock, and read the entry after it in the same round trip: a loader that
     * finished between this caller's read and its lock has written the entry before it let the
     * lock go, so the entry is seen here and the caller need not load again.
     */
    async lock(
      lockKey: string,
      full: string,
      ms: number,
    ): Promise<{ locked: boolean; entry: RedisEntry | null }> {
      const [set, entry] = await r(
        async (redis) =>
          (await redis.pipeline().set(lockKey, "1", { nx: true, px: ms }).get(full).exec()) as [
            string | null,
            RedisEntry | null,
          ],
      );
      return { locked: set === "OK", entry };
    },
    /** One poll of a waiter: the entry and whether the lock is still held. */
    peek: (full: string, lockKey: string) =>
      r((redis) => redis.mget<[RedisEntry | null, string | null]>(full, lockKey)),
    /** Store the entry (and release the lock if held); a failure only means it is not cached. */
    async write(full: string, entry: RedisEntry, ttlSeconds: number, lockKey: string | null) {
      await r(async (redis) => {
        const p = redis.pipeline().set(full, entry, { ex: ttlSeconds });
        if (lockKey) p.del(lockKey);
        await p.exec();
      }).catch(() => {}); // the document is good; only the cache write failed (breaker is open)
    },
    async unlock(lockKey: string) {
      await r((redis) => redis.del(lockKey)).catch(() => {});
    },
    /** Queue new version tokens; written now unless the breaker is open (then by the next read). */
    async invalidate(deps: string[]) {
      for (const d of deps) s.pending.add(d);
      if (Date.now() < s.downUntil) return; // retried by the next read that reaches Redis
      await flushPending().catch(() => {});
    },
  };
}
