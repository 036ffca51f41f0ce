import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { memberships, roomMembers, rooms, users } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { auditInsert } from "../ops/audit.ts";
import { dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";
import { findMembership, isGuardFailure, keepAnOwner, lastOwner } from "./orgs.ts";
import { can, canGrant, canManage, type OrgRole, roleRank } from "./rbac.ts";

export interface MemberView {
  userId: string;
  name: string;
  handle: string;
  role: OrgRole;
  joinedAt: string;
  /** Only for callers allowed `members.read_email`. */
  email?: string;
}

export interface Actor {
  userId: string;
  role: OrgRole;
}

const noSuchMember = () => new ApiError("not_found", "No such member.");
const changedMeanwhile = () =>
  new ApiError("conflict", "The member's role changed meanwhile: reload and try again.");

/** Members by user id (stable cursor). Emails only when `withEmail`. */
export async function listMembers(
  ctx: ServiceContext,
  orgId: string,
  opts: { withEmail: boolean; limit: number; cursor?: string },
) {
  const conds = [eq(memberships.orgId, orgId)];
  if (opts.cursor) conds.push(gt(memberships.userId, opts.cursor));
  const rows = await ctx.db
    .select({ m: memberships, name: users.name, handle: users.handle, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(...conds))
    .orderBy(asc(memberships.userId))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const items: MemberView[] = page.map((r) => ({
    userId: r.m.userId,
    name: r.name,
    handle: r.handle,
    role: r.m.role,
    joinedAt: r.m.createdAt,
    ...(opts.withEmail ? { email: r.email } : {}),
  }));
  return { items, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.m.userId : null };
}

async function memberView(ctx: ServiceContext, orgId: string, userId: string, withEmail: boolean) {
  const [r] = await ctx.db
    .select({ m: memberships, name: users.name, handle: users.handle, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  if (!r) throw noSuchMember();
  return {
    userId,
    name: r.name,
    handle: r.handle,
    role: r.m.role,
    joinedAt: r.m.createdAt,
    ...(withEmail ? { email: r.email } : {}),
  } satisfies MemberView;
}

/**
 * Fails the batch (NOT NULL on memberships.role) unless the member still has the role the
 * permission check saw: a concurrent promotion cannot be overridden by someone who may no
 * longer manage that member.
 */
function expectRole(ctx: ServiceContext, orgId: string, userId: string, role: OrgRole) {
  return ctx.db
    .update(memberships)
    .set({ role: sql`CASE WHEN ${memberships.role} = ${role} THEN ${memberships.role} ELSE NULL END` })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
}

function guarded(err: unknown): never {
  if (isGuardFailure(err, "orgs.name")) throw lastOwner();
  if (isGuardFailure(err, "memberships.role")) throw changedMeanwhile();
  throw err;
}

/**
 * Change a member's role (the caller holds `members.update_role`). Others: only members the
 * caller may manage (canManage) and only to a role the caller may grant (canGrant). Oneself:
 * only downwards. The org always keeps an owner (409). `lowered`: the member now has fewer
 * rights (the caller re-checks their open sockets).
 */
export async function changeMemberRole(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  targetUserId: string,
  newRole: OrgRole,
) {
  const target = await findMembership(ctx, orgId, targetUserId);
  if (!target) throw noSuchMember();
  const self = targetUserId === actor.userId;
  const allowed = self
    ? roleRank[newRole] <= roleRank[actor.role]
    : canManage(actor.role, target.role) && canGrant(actor.role, newRole);
  if (!allowed) {
    throw new ApiError("forbidden", `As ${actor.role} you cannot change a ${target.role} to ${newRole}.`);
  }
  const withEmail = can(actor.role, "members.read_email");
  if (newRole === target.role) {
    return { member: await memberView(ctx, orgId, targetUserId, withEmail), lowered: false };
  }
  const hooks = await webhookEvents(
    ctx,
    orgId,
    "member.role_changed",
    payload.roleChanged(orgId, targetUserId, target.role),
  );
  await ctx.db
    .batch([
      expectRole(ctx, orgId, targetUserId, target.role),
      ctx.db
        .update(memberships)
        .set({ role: newRole, updatedAt: nowIso() })
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, targetUserId))),
      ...hooks.statements,
      auditInsert(ctx, {
        action: "org.member_role_changed",
        actorId: actor.userId,
        targetType: "user",
        targetId: targetUserId,
        orgId,
        metadata: { from: target.role, to: newRole },
      }),
      keepAnOwner(ctx, orgId),
    ])
    .catch(guarded);
  await invalidate(ctx, dep.userGrants(targetUserId)); // cache: the member's room access
  dispatchWebhooks(ctx, hooks);
  const member = await memberView(ctx, orgId, targetUserId, withEmail);
  return { member, lowered: roleRank[newRole] < roleRank[target.role] };
}

/**
 * Remove a member, or leave (target = caller, any role). Removing someone else needs
 * `members.remove` and a role the caller may manage. The last owner cannot leave (409).
 */
export async function removeMember(ctx: ServiceContext, actor: Actor, orgId: string, targetUserId: string) {
  const self = targetUserId === actor.userId;
  if (!self && !can(actor.role, "members.remove")) {
    throw new ApiError("forbidden", "Only admins and owners may remove members.");
  }
  const target = self ? { role: actor.role } : await findMembership(ctx, orgId, targetUserId);
  if (!target) throw noSuchMember();
  if (!self && !canManage(actor.role, target.role)) {
    throw new ApiError("forbidden", `As ${actor.role} you cannot remove a ${target.role}.`);
  }
  // The snapshot before the delete; the room memberships that go with it emit nothing of their own.
  const hooks = await webhookEvents(ctx, orgId, "member.removed", payload.member(orgId, targetUserId));
  await ctx.db
    .batch([
      expectRole(ctx, orgId, targetUserId, target.role),
      ...hooks.statements,
      ctx.db
        .delete(memberships)
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, targetUserId))),
      // Room rights go with the org membership: rejoining later must not restore them.
      ctx.db
        .delete(roomMembers)
        .where(
          and(
            eq(roomMembers.userId, targetUserId),
            inArray(
              roomMembers.roomId,
              ctx.db.select({ id: rooms.id }).from(rooms).where(eq(rooms.orgId, orgId)),
            ),
          ),
        ),
      auditInsert(ctx, {
        action: self ? "org.member_left" : "org.member_removed",
        actorId: actor.userId,
        targetType: "user",
        targetId: targetUserId,
        orgId,
        metadata: { role: target.role },
      }),
      keepAnOwner(ctx, orgId),
    ])
    .catch(guarded);
  await invalidate(ctx, dep.userGrants(targetUserId)); // cache: the member's room access
  dispatchWebhooks(ctx, hooks);
}
