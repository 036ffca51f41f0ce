import { and, desc, eq, gt, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { now as dbNow, sessions, users } from "../../db/schema.ts";
import { hmac, randomToken, sha256 } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { ID_SOURCE, isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { auditInsert } from "../ops/audit.ts";
import { markRevoked } from "./revocation.ts";
import { signAccessToken } from "./tokens.ts";
import type { UserRow } from "./users.ts";

/**
 * Refresh tokens: `<sessionId>.<generation>.<secret>`, opaque to clients. The secret of
 * generation n+1 is HMAC(SERVER_SECRET, secret n), so only the current hash is stored, the
 * successor of a token can be recomputed (grace window for concurrent tabs), and an old token
 * can be proven an ancestor of the current one (reuse → the session is revoked).
 */
const MAX_REUSE_WALK = 1000;

const REFRESH_TOKEN = new RegExp(`^(${ID_SOURCE})\\.(\\d{1,9})\\.([A-Za-z0-9_-]{43})$`);
function parseRefreshToken(token: string) {
  const m = REFRESH_TOKEN.exec(token);
  return m ? { sessionId: m[1]!, generation: Number(m[2]), secret: m[3]! } : null;
}

const successor = (ctx: ServiceContext, secret: string) => hmac(ctx.config.SERVER_SECRET, "refresh", secret);
const format = (sessionId: string, generation: number, secret: string) =>
  `${sessionId}.${generation}.${secret}`;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
}

async function accessFor(ctx: ServiceContext, userId: string, sessionId: string, role: "user" | "admin") {
  return signAccessToken(ctx.config, { sub: userId, sid: sessionId, role });
}

/** The insert for a new session (callers batch it with what else the request writes). */
export async function newSession(ctx: ServiceContext, userId: string) {
  const sessionId = uuidv7();
  const secret = randomToken();
  const insert = ctx.db.insert(sessions).values({
    id: sessionId,
    userId,
    refreshHash: await sha256(secret),
    generation: 0,
    userAgent: ctx.meta.userAgent?.slice(0, 512) ?? null,
    ip: ctx.meta.ip,
    expiresAt: isoIn(ctx.config.REFRESH_TOKEN_TTL),
  });
  return { sessionId, refreshToken: format(sessionId, 0, secret), insert };
}

export async function issueTokens(
  ctx: ServiceContext,
  user: { id: string; role: "user" | "admin" },
  session: { sessionId: string; refreshToken: string },
): Promise<TokenPair> {
  return {
    accessToken: await accessFor(ctx, user.id, session.sessionId, user.role),
    refreshToken: session.refreshToken,
    expiresIn: ctx.config.ACCESS_TOKEN_TTL,
    sessionId: session.sessionId,
  };
}

const invalid = () => new ApiError("unauthorized", "The refresh token is invalid, expired or revoked.");

/**
 * Rotate a refresh token. The usual case (the current token) is one round trip: a batch that
 * rotates the session only if the presented token is its current one, live and of an enabled
 * user (every check in the UPDATE's WHERE, atomic), then reads the session and its user. A
 * token that did not rotate is judged on that same read: the grace window (a concurrent tab
 * rotated it a moment ago), reuse (the session is revoked), or invalid.
 */
export async function refresh(
  ctx: ServiceContext,
  token: string,
): Promise<TokenPair & { userId: string; user: UserRow }> {
  const parsed = parseRefreshToken(token);
  if (!parsed) throw invalid();
  const next = await successor(ctx, parsed.secret);
  const [presentedHash, nextHash] = await Promise.all([sha256(parsed.secret), sha256(next)]);
  const now = nowIso();
  const [rotated, [row]] = await ctx.db.batch([
    ctx.db
      .update(sessions)
      .set({
        refreshHash: nextHash,
        generation: parsed.generation + 1,
        rotatedAt: now,
        lastUsedAt: now,
        ip: ctx.meta.ip,
      })
      .where(
        and(
          eq(sessions.id, parsed.sessionId),
          eq(sessions.generation, parsed.generation),
          eq(sessions.refreshHash, presentedHash),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
          sql`exists (select 1 from ${users} where ${users.id} = ${sessions.userId} and ${users.disabledAt} is null)`,
        ),
      )
      .returning({ id: sessions.id }),
    ctx.db
      .select({ s: sessions, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.id, parsed.sessionId)),
  ]);
  if (!row || row.s.revokedAt || row.user.disabledAt || row.s.expiresAt <= now) throw invalid();
  const s = row.s;
  const tokens = async (generation: number) => ({
    ...(await issueTokens(ctx, row.user, { sessionId: s.id, refreshToken: format(s.id, generation, next) })),
    userId: s.userId,
    user: row.user,
  });
  if (rotated.length === 1) return tokens(parsed.generation + 1);

  const inGrace =
    parsed.generation === s.generation - 1 &&
    s.rotatedAt !== null &&
    Date.now() - Date.parse(s.rotatedAt) <= ctx.config.REFRESH_GRACE_SECONDS * 1000 &&
    nextHash === s.refreshHash;
  // Concurrent tabs: the same successor again, with a fresh access token.
  if (inGrace) return tokens(s.generation);

  if (parsed.generation < s.generation && s.generation - parsed.generation <= MAX_REUSE_WALK) {
    let secret = parsed.secret;
    for (let g = parsed.generation; g < s.generation; g++) secret = await successor(ctx, secret);
    if ((await sha256(secret)) === s.refreshHash) {
      await revokeSessions(ctx, {
        sessionIds: [s.id],
        reason: "refresh_reuse",
        actorId: s.userId,
        audit: "session.refresh_reuse",
      });
      ctx.log.warn("refresh token reuse: session revoked", { sessionId: s.id, userId: s.userId });
    }
  }
  throw invalid();
}

/** Revoke sessions (by id, or every session of a user) and record it; access tokens stop at once. */
export async function revokeSessions(
  ctx: ServiceContext,
  opts: {
    sessionIds?: string[];
    userId?: string;
    exceptSessionId?: string;
    reason: string;
    actorId?: string | null;
    audit?: "session.revoked" | "session.refresh_reuse" | null;
  },
): Promise<string[]> {
  const conds = [isNull(sessions.revokedAt)];
  if (opts.sessionIds) conds.push(or(...opts.sessionIds.map((id) => eq(sessions.id, id)))!);
  if (opts.userId) conds.push(eq(sessions.userId, opts.userId));
  if (opts.exceptSessionId) conds.push(ne(sessions.id, opts.exceptSessionId));
  const rows = await ctx.db
    .update(sessions)
    .set({ revokedAt: dbNow, revokedReason: opts.reason }) // the database's clock: see revocation.ts
    .where(and(...conds))
    .returning({ id: sessions.id });
  const ids = rows.map((r) => r.id);
  markRevoked(ids, ctx.config);
  if (ids.length && opts.audit !== null) {
    await auditInsert(ctx, {
      action: opts.audit ?? "session.revoked",
      actorId: opts.actorId ?? null,
      targetType: "session",
      targetId: ids.length === 1 ? ids[0] : null,
      metadata: { reason: opts.reason, count: ids.length, userId: opts.userId },
    });
  }
  return ids;
}

export async function listSessions(ctx: ServiceContext, userId: string, limit: number, cursor?: string) {
  const conds = [eq(sessions.userId, userId), isNull(sessions.revokedAt)];
  if (cursor) conds.push(lt(sessions.id, cursor));
  const rows = await ctx.db
    .select()
    .from(sessions)
    .where(and(...conds))
    .orderBy(desc(sessions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit).filter((r) => r.expiresAt > nowIso());
  return { rows: page, nextCursor: rows.length > limit ? rows[limit - 1]!.id : null };
}
