import type { Redis } from "@upstash/redis/cloudflare";
import type { ClientRateLimitInfo, Store } from "hono-rate-limiter";

/**
 * Fixed-window counters in Redis for hono-rate-limiter, built for Workers:
 * - no promise is shared between requests (hono-rate-limiter's RedisStore keeps its SCRIPT LOAD
 *   promise on the shared store and replaces it after any error, so under load with Redis down
 *   concurrent requests awaited another request's I/O and workerd cancelled them as hung);
 * - one round trip per synced request (MULTI: INCRBY, PEXPIRE NX, PTTL), no Lua scripts, and
 *   after a failure none for a second (the middleware then fails open or closed at once);
 * - local batching: while a key is far from its limit, an isolate counts up to a tenth of what
 *   was left (at most 100) locally and adds them to Redis with its next sync, so a busy client
 *   costs one Redis call per batch. A sync claims the local hits before it awaits Redis, so
 *   concurrent syncs never send the same hits twice: the count in Redis is exactly the hits
 *   that happened. While a sync is on its way, new hits keep counting locally within the same
 *   batch (they go with the next sync), so concurrent requests do not each sync too. Near the
 *   limit the batch is 0: every hit is counted in Redis and the 429 comes exactly after the
 *   limit, under any concurrency. Far from it, each isolate may admit at most one batch that
 *   Redis does not know yet (the tolerance: at most a tenth of what was left, and at most 100,
 *   per isolate; hits of a sync in flight are on their way, so with them the isolate is at most
 *   two tenths ahead); hits still unsynced when the window ends are not carried over.
 * Hand-written: no maintained store for Workers batches counts or avoids the shared promise.
 */
interface Local {
  /** The key's count in Redis at the last sync. */
  synced: number;
  /** Hits admitted here since, not yet sent to Redis. */
  pending: number;
  /** How many hits may be admitted locally before the next sync. */
  batch: number;
  resetAt: number;
}

const MAX_BATCH = 100;
const MAX_KEYS = 10_000;
/** After a Redis failure, fail at once for this long: a hung Redis costs one timeout, not one per request. */
const BREAKER_MS = 1000;

export function createRedisWindowStore(redis: Redis, prefix: string, limit: number): Store {
  let windowMs = 60_000;
  let downUntil = 0;
  const locals = new Map<string, Local>();
  const redisKey = (key: string) => `${prefix}${key}`;

  return {
    init(options) {
      windowMs = options.windowMs;
    },
    async increment(key): Promise<ClientRateLimitInfo> {
      const now = Date.now();
      let local = locals.get(key);
      if (local && local.resetAt <= now) local = undefined; // a new window: drop the old one's count
      if (local && local.pending < local.batch) {
        local.pending++;
        return { totalHits: local.synced + local.pending, resetTime: new Date(local.resetAt) };
      }
      if (now < downUntil) throw new Error("rate limit store unavailable (recent Redis failure)");
      // Claim this isolate's unsent hits now: a concurrent sync must not send them again. The
      // batch stays: hits arriving before this sync answers are counted locally, up to it.
      const claimed = local?.pending ?? 0;
      if (local) local.pending = 0;
      const k = redisKey(key);
      const [total, , ttl] = await redis
        .multi()
        .incrby(k, claimed + 1)
        .pexpire(k, windowMs, "NX")
        .pttl(k)
        .exec<[number, number, number]>()
        .catch((err: unknown) => {
          downUntil = Date.now() + BREAKER_MS;
          const current = locals.get(key);
          if (current && current === local) current.pending += claimed; // not sent: still to be counted
          throw err;
        });
      const resetAt = now + (ttl > 0 ? ttl : windowMs);
      const current = locals.get(key);
      if (current && current.resetAt > now && current.synced > total) {
        // A later sync already answered with a higher count: keep its view.
        return { totalHits: total, resetTime: new Date(resetAt) };
      }
      if (locals.size >= MAX_KEYS) locals.clear();
      const batch = Math.max(0, Math.min(MAX_BATCH, Math.floor((limit - total) / 10)));
      locals.set(key, { synced: total, pending: current?.pending ?? 0, batch, resetAt });
      return { totalHits: total, resetTime: new Date(resetAt) };
    },
    async decrement(key) {
      const local = locals.get(key);
      if (local && local.pending > 0) local.pending--;
      else await redis.decr(redisKey(key));
    },
    async resetKey(key) {
      locals.delete(key);
      await redis.del(redisKey(key));
    },
  };
}

/**
 * Degraded store for when no Redis is configured: a fixed window per isolate. Hand-written
 * because hono-rate-limiter's MemoryStore starts a setInterval, which Workers do not allow
 * outside a request.
 */
class IsolateMemoryStore implements Store {
  private windowMs = 60_000;
  private hits = new Map<string, { count: number; resetAt: number }>();
  readonly localKeys = true;
  init(options: { windowMs: number }) {
    this.windowMs = options.windowMs;
  }
  increment(key: string) {
    const now = Date.now();
    let e = this.hits.get(key);
    if (!e || e.resetAt <= now) {
      if (this.hits.size > 50_000) this.hits.clear();
      e = { count: 0, resetAt: now + this.windowMs };
      this.hits.set(key, e);
    }
    e.count++;
    return { totalHits: e.count, resetTime: new Date(e.resetAt) };
  }
  decrement(key: string) {
    const e = this.hits.get(key);
    if (e) e.count = Math.max(0, e.count - 1);
  }
  resetKey(key: string) {
    this.hits.delete(key);
  }
}

export const createIsolateMemoryStore = (): Store => new IsolateMemoryStore();
