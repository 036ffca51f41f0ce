import type { Redis } from "@upstash/redis/cloudflare";
import { sha256 } from "../lib/crypto.ts";
import { createThrottledLog, errorFields, type Logger } from "../lib/log.ts";
import type { KeyValueStore } from "./kv.ts";

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

interface MemoryEntry {
  stamp: string;
  snap: number[];
  etag: string;
  body: string;
  expiresAt: number;
}
interface RedisEntry {
  s: string;
  e: string;
  b: string;
}

/** Per isolate and store: memory tier, local version epochs, breaker, invalidations to retry. */
interface State {
  memory: Map<string, MemoryEntry>;
  local: Map<string, number>;
  epoch: number;
  downUntil: number;
  pending: Set<string>;
  /** Outage logging, throttled per store: each store's first failure is always logged. */
  outageLog: ReturnType<typeof createThrottledLog>;
}

const PREFIX = "c1:";
const VERSION_TTL_S = 2 * 86_400;
const MAX_TRACKED = 50_000;
const states = new WeakMap<KeyValueStore, State>();

/** Thrown by `r()` only: lets Redis failures be told apart from the loader's own errors. */
class RedisUnavailable extends Error {}

const token = () => `v${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
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

export function createCache(kv: KeyValueStore, opts: CacheOptions, log: Logger): Cache {
  let st = states.get(kv);
  if (!st) {
    const outageLog = createThrottledLog(30_000);
    st = { memory: new Map(), local: new Map(), epoch: 0, downUntil: 0, pending: new Set(), outageLog };
    states.set(kv, st);
  }
  const s = st;
  const redis = kv.redis;
  const snapshot = (deps: string[]) => deps.map((d) => s.local.get(d) ?? 0);

  function memGet(key: string, snap: number[]): MemoryEntry | undefined {
    const e = s.memory.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now() || e.snap.some((n, i) => n !== snap[i])) {
      s.memory.delete(key);
      return undefined;
    }
    s.memory.delete(key); // LRU: most recently used last
    s.memory.set(key, e);
    return e;
  }
  function memSet(key: string, e: Omit<MemoryEntry, "expiresAt">, ttlMs: number) {
    if (opts.memoryEntries === 0 || ttlMs <= 0) return;
    s.memory.delete(key);
    while (s.memory.size >= opts.memoryEntries) s.memory.delete(s.memory.keys().next().value as string);
    s.memory.set(key, { ...e, expiresAt: Date.now() + ttlMs });
  }

  /** Every Redis call: a failure opens the breaker (logged once per interval) and throws RedisUnavailable. */
  async function r<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await fn(redis!);
    } catch (err) {
      s.downUntil = Date.now() + opts.breakerMs;
      s.outageLog("cache", () =>
        log.error("cache unavailable: reads bypass it until Redis answers again", {
          event: "cache_unavailable",
          breakerMs: opts.breakerMs,
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

  async function redisRead<T>(
    key: CacheKey<T>,
    full: string,
    snap: number[],
    produce: () => Promise<CachedJson<T>>,
  ): Promise<CachedJson<T>> {
    if (s.pending.size > 0) await flushPending();
    const vkeys = key.deps.map((d) => `${PREFIX}v:${d}`);
    const [entry, ...found] = await r((redis) =>
      redis.mget<[RedisEntry | null, ...(string | null)[]]>(full, ...vkeys),
    );
    const stamp = await versions(key.deps, found);
    const memTtl = Math.min(opts.memoryTtlMs, key.ttlSeconds * 1000);
    const hit = (e: RedisEntry) => {
      memSet(full, { stamp, snap, etag: e.e, body: e.b }, memTtl);
      return fromEntry<T>({ body: e.b, etag: e.e }, "HIT");
    };
    if (entry?.s === stamp) return hit(entry);

    const lockKey = `${full}:lock`;
    const locked = (await r((redis) => redis.set(lockKey, "1", { nx: true, px: opts.lockMs }))) === "OK";
    if (!locked) {
      // Someone else is loading it: poll (memory first, for a winner in this isolate) until it
      // lands, the lock goes away without it (their load failed), or the wait is over.
      // The interval grows (10 ms → 200 ms, jittered): a hundred waiters must not turn one slow
      // load into thousands of Redis calls a second, which is what makes the load slower still.
      const deadline = Date.now() + opts.lockMs;
      for (let wait = 10; Date.now() < deadline; wait = Math.min(200, wait * 1.5)) {
        await sleep(wait * (0.75 + Math.random() / 2));
        const mem = memGet(full, snap);
        if (mem?.stamp === stamp) return fromEntry<T>(mem, "HIT");
        const [e, lock] = await r((redis) => redis.mget<[RedisEntry | null, string | null]>(full, lockKey));
        if (e?.s === stamp) return hit(e);
        if (lock === null) break;
      }
    }
    try {
      const doc = await produce();
      memSet(full, { stamp, snap, etag: doc.etag, body: doc.body }, memTtl);
      await r(async (redis) => {
        const p = redis.pipeline().set(full, { s: stamp, e: doc.etag, b: doc.body }, { ex: key.ttlSeconds });
        if (locked) p.del(lockKey);
        await p.exec();
      }).catch(() => {}); // the document is good; only the cache write failed (breaker is open)
      return doc;
    } catch (err) {
      if (locked) await r((redis) => redis.del(lockKey)).catch(() => {});
      throw err;
    }
  }

  return {
    mode: redis ? "redis" : "memory",
    async json<T>(key: CacheKey<T>, load: () => Promise<T>, o: { bypass?: boolean } = {}) {
      if (o.bypass) return render(await load(), "BYPASS");
      const full = `${PREFIX}${key.ns}:${key.id}`;
      const snap = snapshot(key.deps);
      const mem = memGet(full, snap);
      if (mem) return fromEntry<T>(mem, "HIT");
      if (!redis) {
        // Degraded (no Redis configured): the memory tier alone, entries live for the namespace TTL.
        const doc = await render(await load(), "MISS");
        memSet(full, { stamp: "", snap, etag: doc.etag, body: doc.body }, key.ttlSeconds * 1000);
        return doc;
      }
      if (Date.now() < s.downUntil) return render(await load(), "BYPASS");
      let loaded: CachedJson<T> | undefined;
      try {
        return await redisRead(key, full, snap, async () => {
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
      if (s.local.size + deps.length > MAX_TRACKED) {
        s.local.clear();
        s.memory.clear();
      }
      for (const d of deps) s.local.set(d, ++s.epoch);
      if (!redis) return;
      for (const d of deps) s.pending.add(d);
      if (Date.now() < s.downUntil) return; // retried by the next read that reaches Redis
      await flushPending().catch(() => {});
    },
  };
}
