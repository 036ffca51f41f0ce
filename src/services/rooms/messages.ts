import { and, asc, desc, eq, gt, lt, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { messages, rooms } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso, uuidv7 } from "../../lib/ids.ts";
import { errorFields } from "../../lib/log.ts";
import type { Message } from "../../shared/message.schema.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { checkAttachments } from "../files/files-access.ts";
import { notifyMentions } from "../notifications/notifications.ts";
import { can } from "../orgs/rbac.ts";
import { dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";
import type { RoomGrant } from "./room-grant.ts";
import type { RoomAccess } from "./rooms.ts";

export type MessageRow = typeof messages.$inferSelect;
export const MAX_BODY = 4000;

/** The row as the contract (src/shared/message.schema.ts) shows it. */
export const toMessage = (m: MessageRow): Message => ({
  id: m.id,
  roomId: m.roomId,
  seq: m.seq,
  authorId: m.authorId,
  body: m.body,
  attachments: m.attachments,
  clientId: m.clientId,
  createdAt: m.createdAt,
  editedAt: m.editedAt,
  deletedAt: m.deletedAt,
});

export interface PostInput {
  clientId: string;
  body: string;
  attachments?: string[];
}

async function findByClientId(ctx: ServiceContext, roomId: string, authorId: string, clientId: string) {
  const [m] = await ctx.db
    .select()
    .from(messages)
    .where(
      and(eq(messages.roomId, roomId), eq(messages.authorId, authorId), eq(messages.clientId, clientId)),
    );
  return m;
}

/**
 * The one persistence path for new messages (REST and socket). The seq is allocated in the same
 * transaction as the insert (rooms.last_seq + 1), so seqs have no gaps even under concurrency.
 * `clientId` makes retries idempotent: same body → the original (created: false), else 409.
 * One round trip when the clientId is new: the unique index (room, author, clientId) is the
 * idempotency check, folded into the write itself; a replay fails it, the batch rolls back
 * whole (no seq used) and the original is read.
 */
export async function postMessage(
  ctx: ServiceContext,
  access: RoomGrant,
  authorId: string,
  input: PostInput,
) {
  const attachments = input.attachments ?? [];
  await checkAttachments(ctx, access, authorId, attachments);
  const id = uuidv7();
  const hooks = await webhookEvents(ctx, access.room.orgId, "message.created", payload.message(id));
  try {
    const [, inserted] = await ctx.db.batch([
      ...messageWrite(ctx, access.room.id, id, authorId, input),
      ...hooks.statements,
    ]);
    const message = inserted[0]!;
    dispatchWebhooks(ctx, hooks);
    // cache: the latest page, and the room list's lastSeq/unreadCount
    await invalidate(ctx, dep.roomMessages(access.room.id), dep.orgRooms(access.room.orgId));
    await notifyMentions(ctx, access, message).catch((err) =>
      ctx.log.error("mention notifications failed", errorFields(err)),
    );
    return { message: toMessage(message), created: true };
  } catch (err) {
    // This clientId is taken (a retry, or a concurrent one won): nothing was written.
    if (isUniqueViolation(err, "messages.client_id")) {
      const original = await findByClientId(ctx, access.room.id, authorId, input.clientId);
      if (original) return replay(original, input);
    }
    throw err;
  }
}

/**
 * The statements of a new message's write batch, in order: the seq allocation, then the insert
 * (its result is the new row). Statements that must commit with the message (an outbox event)
 * go after these two.
 */
export function messageWrite(
  ctx: ServiceContext,
  roomId: string,
  id: string,
  authorId: string,
  input: PostInput,
) {
  return [
    ctx.db
      .update(rooms)
      .set({ lastSeq: sql`${rooms.lastSeq} + 1` })
      .where(eq(rooms.id, roomId)),
    ctx.db
      .insert(messages)
      .values({
        id,
        roomId,
        seq: sql`(select ${rooms.lastSeq} from ${rooms} where ${rooms.id} = ${roomId})`,
        authorId,
        body: input.body,
        attachments: input.attachments ?? [],
        clientId: input.clientId,
      })
      .returning(),
  ] as const;
}

function replay(existing: MessageRow, input: PostInput) {
  const same =
    existing.body === input.body &&
    JSON.stringify(existing.attachments) === JSON.stringify(input.attachments ?? []);
  if (!same)
    throw new ApiError("conflict", "This clientId was already used for a different message.", {
      errors: [{ path: "clientId", message: "already used" }],
    });
  return { message: toMessage(existing), created: false };
}

export interface HistoryQuery {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
}

/** History, always ascending by seq; see the contract for the four cursor cases. */
export async function listMessages(ctx: Pick<ServiceContext, "db">, roomId: string, q: HistoryQuery) {
  const conds = [eq(messages.roomId, roomId)];
  if (q.afterSeq !== undefined) conds.push(gt(messages.seq, q.afterSeq));
  if (q.beforeSeq !== undefined) conds.push(lt(messages.seq, q.beforeSeq));
  const newestFirst = q.afterSeq === undefined; // latest page, or the page just before beforeSeq
  const rows = await ctx.db
    .select()
    .from(messages)
    .where(and(...conds))
    .orderBy(newestFirst ? desc(messages.seq) : asc(messages.seq))
    .limit(q.limit + 1);
  const hasMore = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  if (newestFirst) page.reverse();
  return { items: page.map(toMessage), hasMore };
}

export async function loadMessage(ctx: Pick<ServiceContext, "db">, messageId: string) {
  const [m] = await ctx.db.select().from(messages).where(eq(messages.id, messageId));
  if (!m) throw new ApiError("not_found", "No such message.");
  return m;
}

export async function editMessage(
  ctx: ServiceContext,
  m: MessageRow,
  userId: string,
  body: string,
  orgId: string,
) {
  if (m.authorId !== userId) throw new ApiError("forbidden", "Only the author can edit a message.");
  if (m.deletedAt) throw new ApiError("conflict", "A deleted message cannot be edited.");
  const editedAt = nowIso();
  const edited = sql`exists (select 1 from ${messages} where ${messages.id} = ${m.id} and ${messages.editedAt} = ${editedAt})`;
  const hooks = await webhookEvents(ctx, orgId, "message.updated", payload.message(m.id), edited);
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(messages)
      .set({ body, editedAt })
      .where(and(eq(messages.id, m.id), sql`${messages.deletedAt} is null`))
      .returning(),
    ...hooks.statements,
  ]);
  if (!row) throw new ApiError("conflict", "A deleted message cannot be edited.");
  dispatchWebhooks(ctx, hooks);
  await invalidate(ctx, dep.roomMessages(m.roomId)); // cache: the latest page
  return toMessage(row);
}

/** Tombstone: same id and seq, body and attachments emptied. Author or org admin+. Idempotent. */
export async function deleteMessage(ctx: ServiceContext, m: MessageRow, access: RoomAccess, userId: string) {
  if (m.authorId !== userId && !can(access.orgRole, "messages.moderate")) {
    throw new ApiError("forbidden", "Only the author or an org admin can delete a message.");
  }
  if (m.deletedAt) return toMessage(m);
  const hooks = await webhookEvents(ctx, access.room.orgId, "message.deleted", payload.message(m.id));
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(messages)
      .set({ body: "", attachments: [], deletedAt: nowIso() })
      .where(eq(messages.id, m.id))
      .returning(),
    ...hooks.statements,
  ]);
  dispatchWebhooks(ctx, hooks);
  await invalidate(ctx, dep.roomMessages(m.roomId), dep.orgRooms(access.room.orgId)); // cache
  return toMessage(row!);
}
