import type { Cache } from "../adapters/cache.ts";
import type { KeyValueStore } from "../adapters/kv.ts";
import type { Mailer } from "../adapters/mailer.ts";
import type { RealtimePublisher } from "../adapters/realtime.ts";
import type { ObjectStorage } from "../adapters/storage.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { Logger } from "../lib/log.ts";
import type { Services } from "./container.ts";

/** Who is calling and from where: recorded on sessions and in the audit log. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

/** What a service function needs, without any HTTP framework types. */
export interface ServiceContext {
  db: Database;
  config: Config;
  log: Logger;
  kv: KeyValueStore;
  /** Read cache; writes invalidate through src/services/cache-keys.ts. Absent only in hand-built test contexts. */
  cache?: Cache;
  mailer: Mailer;
  realtime: RealtimePublisher;
  /** File objects (R2 binding or S3). */
  storage: ObjectStorage;
  meta: RequestMeta;
  /** The webhook delivery queue (src/services/webhooks/dispatch.ts); absent in hand-built contexts. */
  webhookQueue?: Queue | undefined;
  /** Run work after the response (ctx.waitUntil): mail, publishing, equalising timing. */
  defer(work: Promise<unknown>): void;
}

/**
 * The one way to build a ServiceContext: per request (src/middleware/request-context.ts) and per
 * cron run. Dependencies stay lazy: a client is created the first time a service touches it.
 */
export function createServiceContext(parts: {
  services: Services;
  config: Config;
  log: Logger;
  meta: RequestMeta;
  defer(work: Promise<unknown>): void;
}): ServiceContext {
  const { services, config, log, meta, defer } = parts;
  return {
    config,
    log,
    meta,
    defer,
    get db() {
      return services.database.db;
    },
    get kv() {
      return services.kv;
    },
    get cache() {
      return services.cache;
    },
    get mailer() {
      return services.mailer;
    },
    get realtime() {
      return services.realtime;
    },
    get storage() {
      return services.storage;
    },
    get webhookQueue() {
      return services.webhookQueue;
    },
  };
}
