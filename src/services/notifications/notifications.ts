import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { memberships, notifications, roomMembers, users } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso, uuidv7 } from "../../lib/ids.ts";
import type { Notification } from "../../shared/notification.schema.ts";
import { publishNotification } from "../realtime/realtime-events.ts";
import type { MessageRow } from "../rooms/messages.ts";
import type { RoomGrant } from "../rooms/room-grant.ts";
import { canSeeRoom } from "../rooms/rooms.ts";

export type NotificationRow = typeof notifications.$inferSelect;
/** The row as the contract (src/shared/notification.schema.ts) shows it. */
export const toNotification = (n: NotificationRow): Notification => ({
  id: n.id,
  type: n.type,
  data: n.data,
  createdAt: n.createdAt,
  readAt: n.readAt,
});

const MENTION = /(?:^|[^a-z0-9_@])@([a-z0-9_]{3,30})(?![a-z0-9_])/g;
export function mentionedHandles(body: string): string[] {
  return [...new Set([...body.toLowerCase().matchAll(MENTION)].map((m) => m[1]!))].slice(0, 20);
}

/** Create notifications and push each to its user's channel (after the response). */
export async function createNotifications(
  ctx: ServiceContext,
  rows: Array<{ userId: string; type: NotificationRow["type"]; data: Record<string, unknown> }>,
) {
  if (rows.length === 0) return;
  const inserted = await ctx.db
    .insert(notifications)
    .values(rows.map((r) => ({ id: uuidv7(), ...r })))
    .returning();
  for (const n of inserted) publishNotification(ctx, n.userId, toNotification(n));
}

/** `@handle` of someone who can see the room → a mention notification (never for the author). */
export async function notifyMentions(ctx: ServiceContext, access: RoomGrant, m: MessageRow) {
  const handles = mentionedHandles(m.body);
  if (handles.length === 0) return;
  const candidates = await ctx.db
    .select({ id: users.id, role: memberships.role, roomMember: roomMembers.userId })
    .from(users)
    .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.orgId, access.room.orgId)))
    .leftJoin(roomMembers, and(eq(roomMembers.userId, users.id), eq(roomMembers.roomId, access.room.id)))
    .where(
      and(
        sql`${users.handle} in (${sql.join(
          handles.map((h) => sql`${h}`),
          sql`, `,
        )})`,
        isNull(users.disabledAt),
      ),
    );
  const targets = candidates.filter(
    (u) => u.id !== m.authorId && canSeeRoom(access.room, u.role, u.roomMember !== null),
  );
  await createNotifications(
    ctx,
    targets.map((u) => ({
      userId: u.id,
      type: "mention" as const,
      data: {
        roomId: m.roomId,
        orgId: access.room.orgId,
        messageId: m.id,
        seq: m.seq,
        authorId: m.authorId,
        excerpt: m.body.slice(0, 140),
      },
    })),
  );
}

export async function listNotifications(
  ctx: ServiceContext,
  userId: string,
  opts: { unread: boolean; limit: number; cursor?: string },
) {
  const conds = [eq(notifications.userId, userId)];
  if (opts.unread) conds.push(isNull(notifications.readAt));
  if (opts.cursor) conds.push(lt(notifications.id, opts.cursor));
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(...conds))
    .orderBy(desc(notifications.id))
    .limit(opts.limit + 1);
  return {
    items: rows.slice(0, opts.limit).map(toNotification),
    nextCursor: rows.length > opts.limit ? rows[opts.limit - 1]!.id : null,
  };
}

export async function markNotificationRead(ctx: ServiceContext, userId: string, id: string) {
  const rows = await ctx.db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, ${nowIso()})` })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .returning({ id: notifications.id });
  if (rows.length === 0) throw new ApiError("not_found", "No such notification.");
}

export async function markAllRead(ctx: ServiceContext, userId: string) {
  await ctx.db
    .update(notifications)
    .set({ readAt: nowIso() })
    .where(and(eq(notifications.userId, userId), or(isNull(notifications.readAt))));
}
