import { and, asc, desc, eq, gt, lt, or, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { auditLog, users } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { revokeSessions } from "../identity/sessions.ts";
import { type PublicUser, toPublicUser, type UserRow } from "../identity/users.ts";
import { type AuditAction, auditInsert } from "./audit.ts";

export interface AdminUserView extends PublicUser {
  disabled: boolean;
  disabledAt: string | null;
  updatedAt: string;
}

const toAdminView = (u: UserRow): AdminUserView => ({
  ...toPublicUser(u),
  disabled: u.disabledAt !== null,
  disabledAt: u.disabledAt,
  updatedAt: u.updatedAt,
});

/** `LIKE` pattern for a literal prefix: %, _ and \ in the query match themselves. */
const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
const like = (col: SQLWrapper, pattern: string) => sql`${col} LIKE ${pattern} ESCAPE '\\'`;

/**
 * Users whose email, handle, name, or a word of their name starts with `q` (case-insensitive
 * for ASCII), disabled users included, by id.
 */
export async function searchUsers(ctx: ServiceContext, opts: { q?: string; limit: number; cursor?: string }) {
  const conds: SQL[] = [];
  if (opts.q) {
    const p = likePrefix(opts.q.toLowerCase());
    conds.push(
      or(like(users.email, p), like(users.handle, p), like(users.name, p), like(users.name, `% ${p}`))!,
    );
  }
  if (opts.cursor) conds.push(gt(users.id, opts.cursor));
  const rows = await ctx.db
    .select()
    .from(users)
    .where(and(...conds))
    .orderBy(asc(users.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  return {
    items: page.map(toAdminView),
    nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null,
  };
}

/**
 * Change a user's global role or disable / re-enable the account. A role change and disabling
 * both revoke every session of the user (a JWT carries the global role). An admin cannot demote
 * or disable themselves (409): there must be someone left to undo it.
 */
export async function updateUser(
  ctx: ServiceContext,
  actorId: string,
  userId: string,
  patch: { role?: "user" | "admin"; disabled?: boolean },
): Promise<AdminUserView> {
  const [target] = await ctx.db.select().from(users).where(eq(users.id, userId));
  if (!target) throw new ApiError("not_found", "No such user.");
  if (userId === actorId && (patch.role === "user" || patch.disabled === true)) {
    throw new ApiError("conflict", "You cannot demote or disable yourself: ask another admin.");
  }
  const roleChanged = patch.role !== undefined && patch.role !== target.role;
  const disabling = patch.disabled === true && target.disabledAt === null;
  const enabling = patch.disabled === false && target.disabledAt !== null;
  const audits: Array<{ action: AuditAction; metadata?: Record<string, unknown> }> = [];
  if (roleChanged)
    audits.push({ action: "admin.user_role_changed", metadata: { from: target.role, to: patch.role } });
  if (disabling) audits.push({ action: "admin.user_disabled" });
  if (enabling) audits.push({ action: "admin.user_enabled" });
  const [first, ...rest] = audits.map((a) =>
    auditInsert(ctx, { ...a, actorId, targetType: "user", targetId: userId }),
  );
  if (first) {
    const now = nowIso();
    await ctx.db.batch([
      ctx.db
        .update(users)
        .set({
          role: roleChanged ? patch.role : undefined,
          disabledAt: disabling ? now : enabling ? null : undefined,
          updatedAt: now,
        })
        .where(eq(users.id, userId)),
      first,
      ...rest,
    ]);
    await invalidate(ctx, dep.user(userId)); // cache: GET /v1/me (role)
  }
  // Also when already disabled: idempotent, and a retry after a failed revocation completes it.
  if (roleChanged || patch.disabled === true) {
    await revokeSessions(ctx, {
      userId,
      reason: patch.disabled === true ? "admin_disabled" : "role_changed",
      actorId,
    });
  }
  const [updated] = await ctx.db.select().from(users).where(eq(users.id, userId));
  return toAdminView(updated!);
}

/** The audit log, newest first, optionally for one actor and/or one exact action. */
export async function listAuditLog(
  ctx: ServiceContext,
  opts: { actorId?: string; action?: string; limit: number; cursor?: string },
) {
  const conds: SQL[] = [];
  if (opts.actorId) conds.push(eq(auditLog.actorId, opts.actorId));
  if (opts.action) conds.push(eq(auditLog.action, opts.action));
  if (opts.cursor) conds.push(lt(auditLog.id, opts.cursor));
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(and(...conds))
    .orderBy(desc(auditLog.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null };
}
