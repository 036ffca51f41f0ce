import { type Cache, createCache } from "../adapters/cache.ts";
import { createMemoryStore, createUpstashStore, type KeyValueStore } from "../adapters/kv.ts";
import {
  createNullMailer,
  createOutboxMailer,
  createWebhookMailer,
  type Mailer,
} from "../adapters/mailer.ts";
import { createPartykitPublisher, type RealtimePublisher } from "../adapters/realtime.ts";
import { createStorage, type ObjectStorage } from "../adapters/storage.ts";
import type { Config } from "../config.ts";
import { type DatabaseHandle, getDatabase } from "../db/client.ts";
import type { TripCounts } from "../lib/costs.ts";
import { createLogger, type Logger } from "../lib/log.ts";

export interface Services {
  readonly database: DatabaseHandle;
  readonly kv: KeyValueStore;
  /** Read cache over `kv` (memory tier + Redis), see src/adapters/cache.ts. */
  readonly cache: Cache;
  readonly storage: ObjectStorage;
  readonly realtime: RealtimePublisher;
  readonly mailer: Mailer;
  /**
   * Round trips this request made so far, counted in the adapters (no I/O, creates nothing):
   * database and Redis into `trips` while the request runs under countTrips().
   */
  costs(): { db: number; redis: number };
  readonly trips: TripCounts;
  /** The webhook delivery queue's producer (wrangler.toml [[queues.producers]]), when bound. */
  readonly webhookQueue: Queue | undefined;
}

// Module scope holds only what is safe to share across requests of one isolate:
// stateless clients keyed by their configuration. Nothing here does I/O on creation.
let memoryStore: KeyValueStore | undefined;
const upstashStores = new Map<string, KeyValueStore>();

function kvFor(config: Config, log: Logger): KeyValueStore {
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const key = `${config.UPSTASH_REDIS_REST_URL}|${config.REDIS_TIMEOUT_MS}`;
    let store = upstashStores.get(key);
    if (!store) {
      store = createUpstashStore(
        config.UPSTASH_REDIS_REST_URL,
        config.UPSTASH_REDIS_REST_TOKEN,
        config.REDIS_TIMEOUT_MS,
      );
      upstashStores.set(key, store);
    }
    return store;
  }
  if (!memoryStore) {
    memoryStore = createMemoryStore();
    log.warn("redis not configured: cache and rate limits use a per-isolate memory store (degraded)", {
      event: "redis_degraded",
      hint: "set UPSTASH_REDIS_REST_URL/TOKEN, or install redis-server for npm run dev",
    });
  }
  return memoryStore;
}

/**
 * The read cache, one per isolate, store and settings: it holds no request state (its tiers'
 * state is per store already), so building its closures once saves them on every request. Its
 * outage lines are logged without a request id (they are throttled per store anyway).
 */
const caches = new WeakMap<KeyValueStore, Map<string, Cache>>();
function cacheFor(kv: KeyValueStore, config: Config): Cache {
  const opts = {
    memoryEntries: config.CACHE_MEMORY_ENTRIES,
    memoryTtlMs: config.CACHE_MEMORY_TTL_MS,
    breakerMs: config.CACHE_BREAKER_MS,
    lockMs: config.DB_TIMEOUT_MS + 500,
  };
  const id = `${opts.memoryEntries}|${opts.memoryTtlMs}|${opts.breakerMs}|${opts.lockMs}|${config.LOG_LEVEL}`;
  let byOpts = caches.get(kv);
  if (!byOpts) {
    byOpts = new Map();
    caches.set(kv, byOpts);
  }
  let cache = byOpts.get(id);
  if (!cache) {
    cache = createCache(kv, opts, createLogger(config.LOG_LEVEL, { component: "cache" }));
    byOpts.set(id, cache);
  }
  return cache;
}

export function createServices(
  config: Config,
  env: { FILES: R2Bucket; WEBHOOKS?: Queue },
  log: Logger,
): Services {
  let database: DatabaseHandle | undefined;
  let kv: KeyValueStore | undefined;
  let cache: Cache | undefined;
  let realtime: RealtimePublisher | undefined;
  let storage: ObjectStorage | undefined;
  let mailer: Mailer | undefined;
  const trips: TripCounts = { db: 0, redis: 0 };
  return {
    trips,
    costs: () => ({ db: trips.db, redis: trips.redis }),
    webhookQueue: env.WEBHOOKS,
    get database() {
      database ??= getDatabase(config.LIBSQL_URL, config.LIBSQL_AUTH_TOKEN, config.DB_TIMEOUT_MS);
      return database;
    },
    get kv() {
      kv ??= kvFor(config, log);
      return kv;
    },
    get cache() {
      cache ??= cacheFor(this.kv, config);
      return cache;
    },
    get storage() {
      storage ??= createStorage(config, env.FILES);
      return storage;
    },
    get mailer() {
      mailer ??= config.MAIL_WEBHOOK_URL
        ? createWebhookMailer(config.MAIL_WEBHOOK_URL, config.PARTYKIT_TIMEOUT_MS)
        : config.isDev
          ? createOutboxMailer(this.database.db)
          : createNullMailer(log);
      return mailer;
    },
    get realtime() {
      realtime ??= createPartykitPublisher(
        config.PARTYKIT_URL,
        config.SERVICE_TOKEN,
        config.PARTYKIT_TIMEOUT_MS,
      );
      return realtime;
    },
  };
}
