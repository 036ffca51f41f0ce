import { Redis } from "@upstash/redis/cloudflare";
import { countTrip } from "../lib/costs.ts";
import { DependencyError } from "../lib/errors.ts";

/**
 * The small key-value surface the cache and rate limiter need. Production: Upstash Redis
 * over REST. Without Redis configured (local dev with no redis-server): a per-isolate
 * memory store, clearly degraded (not shared between isolates, lost on eviction).
 */
export interface KeyValueStore {
  readonly kind: "redis" | "memory";
  get<T = unknown>(key: string): Promise<T | null>;
  set(key: string, value: unknown, ttlSeconds?: number): Promise<void>;
  del(...keys: string[]): Promise<number>;
  ping(): Promise<void>;
  /** The underlying Upstash client (only for the Redis kind), e.g. for hono-rate-limiter's RedisStore. */
  readonly redis?: Redis;
}

function wrap<T>(p: Promise<T>): Promise<T> {
  return p.catch((err) => {
    throw new DependencyError("cache", err, 2);
  });
}

/** HTTP round trips to Upstash of this isolate (every client built here), for the bench's cost table. */
const isolateTotal = { roundTrips: 0 };
export const isolateRedisRoundTrips = () => isolateTotal.roundTrips;

export function createUpstashStore(url: string, token: string, timeoutMs: number): KeyValueStore {
  // A signal factory (not one fixed signal, which would abort every later call) and no
  // retries: on the hot path a slow Redis must fail fast, callers degrade.
  const redis: Redis = new CountedRedis({
    url,
    token,
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
    enableTelemetry: false,
  });
  return {
    kind: "redis",
    redis,
    get: <T>(key: string) => wrap(redis.get<T>(key)),
    set: async (key, value, ttl) => {
      await wrap(ttl ? redis.set(key, value, { ex: ttl }) : redis.set(key, value));
    },
    del: (...keys) => (keys.length ? wrap(redis.del(...keys)) : Promise.resolve(0)),
    ping: async () => {
      await wrap(redis.ping());
    },
  };
}

/**
 * The Upstash client, with every HTTP request it sends counted (src/lib/costs.ts): single
 * commands, pipelines and MULTI/EXEC all go through its one requester, so the count is exact
 * for the cache, the rate limiter and anything else that uses this client: per request (when
 * counted) and per isolate (the bench's `/bench/costs`).
 */
class CountedRedis extends Redis {
  constructor(config: ConstructorParameters<typeof Redis>[0]) {
    super(config);
    const requester = this.client;
    const send = requester.request.bind(requester);
    requester.request = (req) => {
      isolateTotal.roundTrips++;
      countTrip("redis");
      return send(req);
    };
  }
}

interface MemoryEntry {
  value: unknown;
  expiresAt: number;
}

export function createMemoryStore(maxEntries = 10_000): KeyValueStore {
  const map = new Map<string, MemoryEntry>();
  const live = (key: string) => {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    kind: "memory",
    get: async <T>(key: string) => (live(key)?.value ?? null) as T | null,
    set: async (key, value, ttl) => {
      if (map.size >= maxEntries) map.delete(map.keys().next().value as string);
      map.set(key, { value: structuredClone(value), expiresAt: ttl ? Date.now() + ttl * 1000 : Infinity });
    },
    del: async (...keys) => keys.reduce((n, k) => n + (map.delete(k) ? 1 : 0), 0),
    ping: async () => {},
  };
}
