import type { Cache } from "../adapters/cache.ts";
import type { KeyValueStore } from "../adapters/kv.ts";
import type { Mailer } from "../adapters/mailer.ts";
import type { RealtimePublisher } from "../adapters/realtime.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { Logger } from "../lib/log.ts";

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
  meta: RequestMeta;
  /** Run work after the response (ctx.waitUntil): mail, publishing, equalising timing. */
  defer(work: Promise<unknown>): void;
}
