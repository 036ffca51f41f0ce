/**
 * Group commit: many new messages for ONE room (socket messages that reached the party within
 * one flush) in one read round trip and one write transaction. The guarantees are postMessage's
 * (src/services/rooms/messages.ts), per message: access re-checked for its author, attachments
 * checked, `clientId` replays answered with the original (a different body is a conflict), seqs
 * allocated in the transaction, so they stay gapless next to concurrent REST posts. Every
 * message gets its own outcome; one message's refusal never fails the others, because every
 * refusal is settled before the write. The one failure that can only show in the write, a
 * concurrent post with the same clientId, rolls the batch back and the messages are then
 * stored one at a time through postMessage.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { memberships, messages, roomMembers, rooms } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { uuidv7 } from "../../lib/ids.ts";
import { errorFields } from "../../lib/log.ts";
import type { Message } from "../../shared/message.schema.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { checkAttachments } from "../files/files-access.ts";
import { notifyMentions } from "../notifications/notifications.ts";
import { can, type OrgRole } from "../orgs/rbac.ts";
import { dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";
import { type MessageRow, messageWrite, type PostInput, postMessage, toMessage } from "./messages.ts";
import { canSeeRoom, type RoomAccess, type RoomRow } from "./rooms.ts";

export interface BatchItem extends PostInput {
  authorId: string;
}
export type BatchOutcome = { ok: true; message: Message; created: boolean } | { ok: false; error: ApiError };

const noRoom = () => new ApiError("not_found", "No such room.");

/** Everything the checks need, in one round trip: the room, the authors' roles, their earlier clientIds. */
async function readState(ctx: ServiceContext, roomId: string, items: BatchItem[]) {
  const authors = [...new Set(items.map((i) => i.authorId))];
  const [room, roles, joined, earlier] = await ctx.db.batch([
    ctx.db.select().from(rooms).where(eq(rooms.id, roomId)),
    ctx.db
      .select({ userId: memberships.userId, role: memberships.role })
      .from(memberships)
      .innerJoin(rooms, eq(rooms.orgId, memberships.orgId))
      .where(and(eq(rooms.id, roomId), inArray(memberships.userId, authors))),
    ctx.db
      .select({ userId: roomMembers.userId })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.userId, authors))),
    ctx.db
      .select()
      .from(messages)
      .where(
        and(
          eq(messages.roomId, roomId),
          inArray(
            messages.clientId,
            items.map((i) => i.clientId),
          ),
        ),
      ),
  ]);
  return { room: room[0], roles, joined, earlier };
}

type Settled =
  | { kind: "new"; item: BatchItem; access: RoomAccess }
  /** The same clientId and body twice in one flush (a client's retry): answered with the first. */
  | { kind: "repeat"; item: BatchItem; access: RoomAccess; of: BatchItem }
  | { kind: "done"; outcome: BatchOutcome };

/** Access, attachments and clientId replays, per message, before anything is written. */
async function settle(ctx: ServiceContext, roomId: string, items: BatchItem[]): Promise<Settled[]> {
  const state = await readState(ctx, roomId, items);
  const roleOf = new Map(state.roles.map((r) => [r.userId, r.role]));
  const members = new Set(state.joined.map((r) => r.userId));
  const byClient = new Map(state.earlier.map((m) => [`${m.authorId}|${m.clientId}`, m]));
  const firstInBatch = new Map<string, BatchItem>();
  const out: Settled[] = [];
  const fail = (error: ApiError): Settled => ({ kind: "done", outcome: { ok: false, error } });
  for (const item of items) {
    const role = roleOf.get(item.authorId);
    const room = state.room;
    if (!room || !role || !canSeeRoom(room, role, members.has(item.authorId))) {
      out.push(fail(noRoom()));
      continue;
    }
    const key = `${item.authorId}|${item.clientId}`;
    const stored = byClient.get(key);
    const first = firstInBatch.get(key);
    if (stored || first) {
      if (!sameMessage(stored ?? first!, item)) out.push(fail(conflict()));
      else if (stored)
        out.push({ kind: "done", outcome: { ok: true, message: toMessage(stored), created: false } });
      else
        out.push({
          kind: "repeat",
          item,
          access: accessOf(room, role, members.has(item.authorId), item),
          of: first!,
        });
      continue;
    }
    const access = accessOf(room, role, members.has(item.authorId), item);
    try {
      await checkAttachments(ctx, access, item.authorId, item.attachments ?? []);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      out.push(fail(err));
      continue;
    }
    firstInBatch.set(key, item);
    out.push({ kind: "new", item, access });
  }
  return out;
}

/** roomAccess() (src/services/rooms/rooms.ts) from rows already read. */
const accessOf = (room: RoomRow, role: OrgRole, isRoomMember: boolean, item: BatchItem): RoomAccess => ({
  room,
  orgRole: role,
  isRoomMember,
  canManage: can(role, "rooms.manage") || (room.createdBy === item.authorId && role !== "guest"),
});

const sameMessage = (a: { body: string; attachments?: string[] | null }, b: PostInput) =>
  a.body === b.body && JSON.stringify(a.attachments ?? []) === JSON.stringify(b.attachments ?? []);
const conflict = () =>
  new ApiError("conflict", "This clientId was already used for a different message.", {
    errors: [{ path: "clientId", message: "already used" }],
  });

/** Store `items` (arrival order = seq order) and answer each one; see the file comment. */
export async function postMessageBatch(
  ctx: ServiceContext,
  roomId: string,
  items: BatchItem[],
): Promise<BatchOutcome[]> {
  if (items.length === 0) return [];
  const settled = await settle(ctx, roomId, items);
  const fresh = settled.filter((s) => s.kind === "new");
  const stored = new Map<BatchItem, MessageRow>();
  if (fresh.length > 0) {
    // One array of statements, one transaction (BEGIN IMMEDIATE, src/db/client.ts): each
    // message's insert, then its webhook outbox rows (src/services/webhooks/outbox.ts).
    const orgId = fresh[0]!.access.room.orgId;
    const writes = await Promise.all(
      fresh.map(async (s) => {
        const id = uuidv7();
        const hooks = await webhookEvents(ctx, orgId, "message.created", payload.message(id));
        return {
          s,
          hooks,
          statements: [...messageWrite(ctx, roomId, id, s.item.authorId, s.item), ...hooks.statements],
        };
      }),
    );
    try {
      const results = (await ctx.db.batch(writes.flatMap((w) => w.statements) as never)) as unknown[];
      let at = 0;
      for (const w of writes) {
        stored.set(w.s.item, (results[at + 1] as MessageRow[])[0]!);
        at += w.statements.length;
      }
    } catch (err) {
      if (!isUniqueViolation(err, "messages.client_id")) throw err;
      // A concurrent post won a clientId: nothing was written; one at a time settles who wins.
      return oneAtATime(ctx, settled);
    }
    dispatchWebhooks(ctx, ...writes.map((w) => w.hooks));
    await invalidate(ctx, dep.roomMessages(roomId), dep.orgRooms(orgId)); // cache
    for (const s of fresh) await mentions(ctx, s.access, stored.get(s.item)!);
  }
  return settled.map((s): BatchOutcome => {
    if (s.kind === "done") return s.outcome;
    const row = stored.get(s.kind === "new" ? s.item : s.of)!;
    return { ok: true, message: toMessage(row), created: s.kind === "new" };
  });
}

/** The fallback: each message not refused before the write goes through postMessage on its own. */
async function oneAtATime(ctx: ServiceContext, settled: Settled[]): Promise<BatchOutcome[]> {
  const out: BatchOutcome[] = [];
  for (const s of settled) {
    if (s.kind === "done") {
      out.push(s.outcome);
      continue;
    }
    try {
      out.push({ ok: true, ...(await postMessage(ctx, s.access, s.item.authorId, s.item)) });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      out.push({ ok: false, error: err });
    }
  }
  return out;
}

/** Mentions as postMessage makes them; only a body with "@" can mention anyone. */
async function mentions(ctx: ServiceContext, access: RoomAccess, row: MessageRow) {
  if (!row.body.includes("@")) return;
  await notifyMentions(ctx, access, row).catch((err) =>
    ctx.log.error("mention notifications failed", errorFields(err)),
  );
}
