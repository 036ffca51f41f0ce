// Hand-written: no well-kept library does versioned cache-aside over Upstash with a per-isolate tier in Workers.
// The interface lives here; the tiers are in ./cache/ (memory.ts, redis.ts, tiered.ts composes them).
export { createCache } from "./cache/tiered.ts";

/**
 * Cache-aside for JSON documents, two tiers: a bounded per-isolate memory tier (short TTL) in
 * front of Redis. Entries are stamped with the version tokens of everything they depend on
 * (`deps`); `invalidate(dep)` writes a new token, so one write makes every dependent entry stale
 * in one step. Readers compare stamps, so each read is one MGET (entry + versions).
 * Stampedes: a miss takes a short Redis lock (SET NX PX); the others poll briefly for the entry.
 * Never a promise shared across requests: workerd cancels a request awaiting another one's I/O.
 * Redis slow or down: reads bypass the cache (status BYPASS), the isolate skips Redis for
 * `breakerMs`, and the outage is logged once per interval.
 */
export type CacheStatus = "HIT" | "MISS" | "BYPASS";

/** One cached document: its namespace and id, TTL in Redis, and the versions it depends on. */
export interface CacheKey<T> {
  ns: string;
  id: string;
  ttlSeconds: number;
  deps: string[];
  /**
   * A hard bound on staleness: a document loaded longer ago than this is never served, whatever
   * invalidation did or did not reach this isolate (0: never cached). For documents that grant
   * rights, where a lost invalidation must still apply within a bound.
   */
  maxAgeMs?: number;
  /** Type only: what the loader returns. */
  readonly _type?: T;
}

export interface CachedJson<T> {
  status: CacheStatus;
  /** The serialized document and its strong ETag (a hash of exactly these bytes). */
  body: string;
  etag: string;
  value(): T;
}

export interface Cache {
  readonly mode: "redis" | "memory";
  json<T>(key: CacheKey<T>, load: () => Promise<T>, opts?: { bypass?: boolean }): Promise<CachedJson<T>>;
  /** Make every entry depending on these stale. Never throws; Redis being down is retried later. */
  invalidate(...deps: string[]): Promise<void>;
}

export interface CacheOptions {
  memoryEntries: number;
  memoryTtlMs: number;
  breakerMs: number;
  /** How long a miss holds its lock, and how long others wait for its result. */
  lockMs: number;
}
