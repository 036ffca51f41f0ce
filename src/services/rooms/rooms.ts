import { and, eq, gt, inArray, or, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { memberships, roomMembers, roomReads, rooms } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso, uuidv7 } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { findMembership } from "../orgs/orgs.ts";
import { can, type OrgRole } from "../orgs/rbac.ts";
import { recheckRoomAccess } from "../realtime/realtime-events.ts";
import { beforeChange, dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";

export type RoomRow = typeof rooms.$inferSelect;

export interface RoomAccess {
  room: RoomRow;
  orgRole: OrgRole;
  /** Explicitly added to the room (private rooms, guests). */
  isRoomMember: boolean;
  /** Edit/delete the room and manage its members: org admin+ or the room's creator. */
  canManage: boolean;
}

const notFound = () => new ApiError("not_found", "No such room.");

/** Whether an org member with `role` may see `room` (the room-level half of RBAC). */
export function canSeeRoom(room: Pick<RoomRow, "visibility">, role: OrgRole, isRoomMember: boolean): boolean {
  if (isRoomMember) return true;
  if (role === "guest") return false; // guests see only rooms they were added to
  if (room.visibility === "public") return can(role, "rooms.read_public");
  return can(role, "rooms.manage"); // private: room members, and org admins who manage every room
}

/**
 * Load a room for a user, or 404 when it does not exist or the user may not see it
 * (never revealing which). Every room route and the realtime ticket go through here.
 */
export async function roomAccess(
  ctx: Pick<ServiceContext, "db">,
  roomId: string,
  userId: string,
): Promise<RoomAccess> {
  const [row] = await ctx.db
    .select({ room: rooms, roomMember: roomMembers.userId, orgRole: memberships.role })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .leftJoin(memberships, and(eq(memberships.orgId, rooms.orgId), eq(memberships.userId, userId)))
    .where(eq(rooms.id, roomId));
  if (!row?.orgRole) throw notFound();
  const isRoomMember = row.roomMember !== null;
  if (!canSeeRoom(row.room, row.orgRole, isRoomMember)) throw notFound();
  return {
    room: row.room,
    orgRole: row.orgRole,
    isRoomMember,
    canManage: can(row.orgRole, "rooms.manage") || (row.room.createdBy === userId && row.orgRole !== "guest"),
  };
}

/**
 * roomAccess() for many users at once (the parties' re-check of who is connected): the ones
 * among `userIds` who may not see the room, by the same rule; all of them when it is gone.
 */
export async function usersDeniedRoom(
  ctx: Pick<ServiceContext, "db">,
  roomId: string,
  userIds: string[],
): Promise<{ denied: string[]; roomDeleted: boolean }> {
  const [room] = await ctx.db.select().from(rooms).where(eq(rooms.id, roomId));
  if (!room) return { denied: userIds, roomDeleted: true };
  if (userIds.length === 0) return { denied: [], roomDeleted: false };
  const [roles, joined] = await ctx.db.batch([
    ctx.db
      .select({ userId: memberships.userId, role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.orgId, room.orgId), inArray(memberships.userId, userIds))),
    ctx.db
      .select({ userId: roomMembers.userId })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.userId, userIds))),
  ]);
  const roleOf = new Map(roles.map((r) => [r.userId, r.role]));
  const members = new Set(joined.map((r) => r.userId));
  const denied = userIds.filter((id) => {
    const role = roleOf.get(id);
    return !role || !canSeeRoom(room, role, members.has(id));
  });
  return { denied, roomDeleted: false };
}

export interface RoomView {
  id: string;
  orgId: string;
  name: string;
  visibility: "public" | "private";
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  lastSeq: number;
  unreadCount: number;
}

export const toRoomView = (r: RoomRow, unreadCount = 0): RoomView => ({
  id: r.id,
  orgId: r.orgId,
  name: r.name,
  visibility: r.visibility,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  lastSeq: r.lastSeq,
  unreadCount,
});

export async function createRoom(
  ctx: ServiceContext,
  orgId: string,
  userId: string,
  role: OrgRole,
  input: { name: string; visibility: "public" | "private" },
) {
  if (!can(role, "rooms.create")) throw new ApiError("forbidden", "Your role cannot create rooms.");
  const id = uuidv7();
  const hooks = await webhookEvents(ctx, orgId, "room.created", payload.room(id));
  const [room] = await ctx.db.batch([
    ctx.db
      .insert(rooms)
      .values({ id, orgId, name: input.name, visibility: input.visibility, createdBy: userId })
      .returning(),
    ctx.db.insert(roomMembers).values({ roomId: id, userId, addedBy: userId }),
    ...hooks.statements,
  ]);
  dispatchWebhooks(ctx, hooks);
  await invalidate(ctx, dep.orgRooms(orgId)); // cache: room lists
  return toRoomView(room[0]!);
}

/** Rooms of an org the user may see, with lastSeq and unreadCount, by id (cursor). */
export async function listRooms(
  ctx: ServiceContext,
  orgId: string,
  userId: string,
  role: OrgRole,
  limit: number,
  cursor?: string,
) {
  const mine = sql`exists (select 1 from ${roomMembers} where ${roomMembers.roomId} = ${rooms.id} and ${roomMembers.userId} = ${userId})`;
  const visible =
    role === "guest" ? mine : can(role, "rooms.manage") ? sql`1` : or(eq(rooms.visibility, "public"), mine);
  const conds = [eq(rooms.orgId, orgId), visible!];
  if (cursor) conds.push(gt(rooms.id, cursor));
  const unread = sql<number>`(select count(*) from messages m where m.room_id = ${rooms.id} and m.seq > coalesce(${roomReads.lastReadSeq}, 0) and m.author_id != ${userId} and m.deleted_at is null)`;
  const rows = await ctx.db
    .select({ room: rooms, unread })
    .from(rooms)
    .leftJoin(roomReads, and(eq(roomReads.roomId, rooms.id), eq(roomReads.userId, userId)))
    .where(and(...conds))
    .orderBy(rooms.id)
    .limit(limit + 1);
  return {
    items: rows.slice(0, limit).map((r) => toRoomView(r.room, Number(r.unread))),
    nextCursor: rows.length > limit ? rows[limit - 1]!.room.id : null,
  };
}

export async function updateRoom(
  ctx: ServiceContext,
  access: RoomAccess,
  patch: { name?: string; visibility?: "public" | "private" },
) {
  if (!access.canManage)
    throw new ApiError("forbidden", "Only the room's creator or an org admin can change it.");
  const [room] = await ctx.db
    .update(rooms)
    .set({ ...patch, updatedAt: nowIso() })
    .where(eq(rooms.id, access.room.id))
    .returning();
  await invalidate(ctx, dep.orgRooms(access.room.orgId), dep.roomGrants(room!.id)); // cache: lists, access
  // Made private: whoever is connected and may no longer see it is disconnected.
  if (room!.visibility !== access.room.visibility) recheckRoomAccess(ctx, room!.id);
  return toRoomView(room!);
}

export async function deleteRoom(ctx: ServiceContext, access: RoomAccess) {
  if (!access.canManage)
    throw new ApiError("forbidden", "Only the room's creator or an org admin can delete it.");
  // The snapshot is taken before the delete. Its cascade (messages, room members, read
  // positions) emits no events of its own: room.deleted stands for all of it.
  const gone = await webhookEvents(ctx, access.room.orgId, "room.deleted", payload.room(access.room.id));
  await ctx.db.batch(beforeChange(gone, ctx.db.delete(rooms).where(eq(rooms.id, access.room.id))));
  dispatchWebhooks(ctx, gone);
  await invalidate(
    ctx,
    dep.orgRooms(access.room.orgId),
    dep.roomMessages(access.room.id),
    dep.roomGrants(access.room.id),
  ); // cache
}

export async function addRoomMember(
  ctx: ServiceContext,
  access: RoomAccess,
  actorId: string,
  userId: string,
) {
  if (!access.canManage)
    throw new ApiError("forbidden", "Only the room's creator or an org admin can add members.");
  const target = await findMembership(ctx, access.room.orgId, userId);
  if (!target) throw new ApiError("not_found", "No such member in this organization.");
  await ctx.db
    .insert(roomMembers)
    .values({ roomId: access.room.id, userId, addedBy: actorId })
    .onConflictDoNothing();
  await invalidate(ctx, dep.orgRooms(access.room.orgId), dep.roomGrants(access.room.id)); // cache: who sees it
}

/** Remove someone from a room (the manager, or the member itself leaving). Returns whether a row went away. */
export async function removeRoomMember(
  ctx: ServiceContext,
  access: RoomAccess,
  actorId: string,
  userId: string,
) {
  if (!access.canManage && actorId !== userId)
    throw new ApiError("forbidden", "Only the room's creator or an org admin can remove members.");
  const removed = await ctx.db
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, access.room.id), eq(roomMembers.userId, userId)))
    .returning({ userId: roomMembers.userId });
  if (removed.length === 0) throw new ApiError("not_found", "No such room member.");
  await invalidate(ctx, dep.orgRooms(access.room.orgId), dep.roomGrants(access.room.id)); // cache: who sees it
}

export async function markRead(ctx: ServiceContext, access: RoomAccess, userId: string, seq: number) {
  if (seq > access.room.lastSeq) {
    throw new ApiError(
      "validation_failed",
      `seq is beyond the room's last message (${access.room.lastSeq}).`,
      { errors: [{ path: "seq", message: "too large" }] },
    );
  }
  await ctx.db
    .insert(roomReads)
    .values({ roomId: access.room.id, userId, lastReadSeq: seq })
    .onConflictDoUpdate({
      target: [roomReads.roomId, roomReads.userId],
      set: { lastReadSeq: sql`max(${roomReads.lastReadSeq}, excluded.last_read_seq)`, updatedAt: nowIso() },
    });
  await invalidate(ctx, dep.reads(access.room.orgId, userId)); // cache: my unreadCount
}

/** Rooms of an org (ids), e.g. to close a removed member's sockets everywhere in it. */
export async function roomIdsOfOrg(ctx: Pick<ServiceContext, "db">, orgId: string): Promise<string[]> {
  const rows = await ctx.db.select({ id: rooms.id }).from(rooms).where(eq(rooms.orgId, orgId));
  return rows.map((r) => r.id);
}

/**
 * Someone's rights in an org shrank (removed, left, demoted): every room of the org re-checks
 * the access of whoever is connected, and closes the sockets of those who lost it.
 */
export async function recheckOrgRooms(ctx: ServiceContext, orgId: string) {
  const ids = await roomIdsOfOrg(ctx, orgId);
  for (const roomId of ids) recheckRoomAccess(ctx, roomId);
}
