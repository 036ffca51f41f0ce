import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Config } from "../../config.ts";
import type { Database } from "../../db/client.ts";
import { sessions } from "../../db/schema.ts";
import { DependencyError } from "../../lib/errors.ts";
import { nowIso } from "../../lib/ids.ts";
import { createThrottledLog, errorFields, type Logger } from "../../lib/log.ts";

/**
 * Which sessions are revoked, as this isolate knows it. The hot path is a Map lookup: no
 * network round trip. The view is refreshed from the database (the source of truth) at most
 * every REVOCATION_SYNC_MS, so a revocation made anywhere takes effect everywhere within that
 * bound; one made in this isolate takes effect on its next request.
 * - Time is the database's: `revoked_at` is stamped by the database inside the revoking write,
 *   and each sync reads the database's clock with its rows. Re-reading DB_TIMEOUT_MS + 1 s
 *   before the last sync covers a write that was stamped, then took that long to commit.
 * - A view that could not be refreshed for STALE_SYNCS intervals is not trusted: the session is
 *   checked in the database on the request itself, and a database that is down is a 503.
 * One view per database (tests point some requests at another one).
 */
interface View {
  revoked: Map<string, number>;
  /** When the last sync started (claims the slot) and when one last succeeded (Worker time). */
  startedAt: number;
  syncedAt: number;
  /** The database's clock at the last successful sync (ISO). */
  watermark: string | undefined;
}
const views = new Map<string, View>();
const STALE_SYNCS = 3;
const throttled = createThrottledLog(30_000);
const DB_NOW = sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

function viewFor(config: Config): View {
  let v = views.get(config.LIBSQL_URL);
  if (!v) {
    v = { revoked: new Map(), startedAt: 0, syncedAt: 0, watermark: undefined };
    views.set(config.LIBSQL_URL, v);
  }
  return v;
}

const lifetimeMs = (config: Config) => (config.ACCESS_TOKEN_TTL + config.CLOCK_SKEW_SECONDS) * 1000;

export function markRevoked(sessionIds: string[], config: Config) {
  const until = Date.now() + lifetimeMs(config);
  const view = viewFor(config);
  for (const id of sessionIds) view.revoked.set(id, until);
}

/** ISO time `ms` before `iso`. */
const before = (iso: string, ms: number) => new Date(Date.parse(iso) - ms).toISOString();

async function sync(view: View, db: Database, config: Config, log: Logger) {
  try {
    // One round trip: the database's clock, and the revocations since the last sync (minus the
    // overlap), or within an access token's lifetime on the first one. Revocations older than
    // that cannot matter: their tokens have expired.
    const rows = await db.all<{ dbNow: string; id: string | null; revokedAt: string | null }>(sql`
      select n.db_now as dbNow, s.id as id, s.revoked_at as revokedAt
      from (select ${DB_NOW} as db_now) n
      left join ${sessions} s on s.revoked_at is not null and s.revoked_at > (
        case when ${view.watermark ?? null} is null
          then strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`-${Math.ceil(lifetimeMs(config) / 1000)} seconds`})
          else ${view.watermark ? before(view.watermark, config.DB_TIMEOUT_MS + 1000) : null}
        end)`);
    const now = Date.now();
    for (const r of rows) {
      if (r.id && r.revokedAt) view.revoked.set(r.id, Date.parse(r.revokedAt) + lifetimeMs(config));
    }
    view.watermark = rows[0]?.dbNow ?? view.watermark;
    view.syncedAt = now;
    for (const [id, until] of view.revoked) if (until < now) view.revoked.delete(id);
  } catch (err) {
    // Keep the last known view; retry after the interval. Logged once per 30 s, not per request.
    throttled("revocation-sync", () => log.error("revocation sync failed", errorFields(err)));
  }
}

/** The session's own row, when the view cannot be trusted: a database that is down is a 503. */
async function revokedInDatabase(db: Database, sessionId: string): Promise<boolean> {
  try {
    const [row] = await db
      .select({ revokedAt: sessions.revokedAt })
      .from(sessions)
      .where(eq(sessions.id, sessionId));
    return !row || row.revokedAt !== null;
  } catch (err) {
    throw new DependencyError("database", err);
  }
}

/**
 * One request per interval refreshes the view (it claims the slot before querying); concurrent
 * requests use the current view. No promise is shared between requests: workerd cancels a
 * request that waits on I/O started by another one.
 */
export async function isSessionRevoked(sessionId: string, db: () => Database, config: Config, log: Logger) {
  const view = viewFor(config);
  if (Date.now() - view.startedAt >= config.REVOCATION_SYNC_MS) {
    view.startedAt = Date.now();
    await sync(view, db(), config, log);
  }
  if (view.revoked.has(sessionId)) return true;
  const staleFor = Date.now() - view.syncedAt;
  if (staleFor > STALE_SYNCS * Math.max(config.REVOCATION_SYNC_MS, 1000)) {
    return revokedInDatabase(db(), sessionId);
  }
  return false;
}

/**
 * Which of these sessions can no longer be used (revoked, expired or unknown): the parties' check
 * of their open sockets (POST /v1/internal/sessions/check). One query per call; callers page
 * their ids (at most SESSION_CHECK_MAX_IDS per call), and the database, not the isolate's view,
 * answers, so a revocation made anywhere is seen at once.
 */
export async function sessionsNoLongerValid(db: Database, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const live = await db
    .select({ id: sessions.id, expiresAt: sessions.expiresAt })
    .from(sessions)
    .where(and(inArray(sessions.id, ids), isNull(sessions.revokedAt)));
  const now = nowIso();
  const valid = new Set(live.filter((s) => s.expiresAt > now).map((s) => s.id));
  return ids.filter((id) => !valid.has(id));
}
