import { and, gt, isNotNull } from "drizzle-orm";
import type { Config } from "../../config.ts";
import type { Database } from "../../db/client.ts";
import { sessions } from "../../db/schema.ts";
import { createThrottledLog, errorFields, type Logger } from "../../lib/log.ts";

/**
 * Which sessions are revoked, as this isolate knows it. The hot path is a Map lookup: no
 * network round trip. The view is refreshed from the database (the source of truth) at most
 * every REVOCATION_SYNC_MS, so a revocation made anywhere takes effect everywhere within that
 * bound; one made in this isolate takes effect on its next request.
 */
const revoked = new Map<string, number>();
let syncedAt = 0;
let watermark: string | undefined;
const throttled = createThrottledLog(30_000);

export function markRevoked(sessionIds: string[], config: Config) {
  const until = Date.now() + (config.ACCESS_TOKEN_TTL + config.CLOCK_SKEW_SECONDS) * 1000;
  for (const id of sessionIds) revoked.set(id, until);
}

async function sync(db: Database, config: Config, log: Logger) {
  const lifetimeMs = (config.ACCESS_TOKEN_TTL + config.CLOCK_SKEW_SECONDS) * 1000;
  // Only revocations younger than an access token's lifetime can matter.
  const floor = new Date(Date.now() - lifetimeMs).toISOString();
  // Re-read a small overlap so rows committed slightly out of order are not missed.
  const since = watermark && watermark > floor ? new Date(Date.parse(watermark) - 2000).toISOString() : floor;
  const startedAt = new Date().toISOString();
  try {
    const rows = await db
      .select({ id: sessions.id, revokedAt: sessions.revokedAt })
      .from(sessions)
      .where(and(isNotNull(sessions.revokedAt), gt(sessions.revokedAt, since)));
    for (const r of rows) revoked.set(r.id, Date.parse(r.revokedAt!) + lifetimeMs);
    watermark = startedAt;
    const now = Date.now();
    for (const [id, until] of revoked) if (until < now) revoked.delete(id);
  } catch (err) {
    // Keep the last known view; retry after the interval. Logged once per 30 s, not per request.
    throttled("revocation-sync", () => log.error("revocation sync failed", errorFields(err)));
  }
}

/**
 * One request per interval refreshes the view (it claims the slot before querying); concurrent
 * requests use the current view. No promise is shared between requests: workerd cancels a
 * request that waits on I/O started by another one.
 */
export async function isSessionRevoked(sessionId: string, db: () => Database, config: Config, log: Logger) {
  if (Date.now() - syncedAt >= config.REVOCATION_SYNC_MS) {
    syncedAt = Date.now();
    await sync(db(), config, log);
  }
  return revoked.has(sessionId);
}
