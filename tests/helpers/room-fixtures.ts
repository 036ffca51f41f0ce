import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { files, messages, notifications, roomMembers, roomReads, rooms } from "../../src/db/schema.ts";
import { isoIn, nowIso, uuidv7 } from "../../src/lib/ids.ts";
import { testDb } from "./db.ts";
import { png } from "./files.ts";
import type { TestUser } from "./users.ts";

/**
 * Rooms, messages, files and notifications written straight to the database (fast matrix
 * fixtures, one batch each), and readers that check afterwards what a request really changed.
 */
export interface RoomFixture {
  id: string;
  /** Message ids, seq 1..n in order. */
  messages: string[];
}

export async function insertRoom(
  orgId: string,
  opts: {
    visibility: "public" | "private";
    createdBy: TestUser;
    /** Explicit room members besides the creator (who always is one, as createRoom does). */
    members?: TestUser[];
    messages?: Array<{ author: TestUser; deleted?: boolean }>;
  },
): Promise<RoomFixture> {
  const id = uuidv7();
  const msgs = (opts.messages ?? []).map((m, i) => ({ ...m, id: uuidv7(), seq: i + 1 }));
  const members = [...new Map([opts.createdBy, ...(opts.members ?? [])].map((u) => [u.id, u])).values()];
  const db = testDb();
  const room = db.insert(rooms).values({
    id,
    orgId,
    name: "Matrix room",
    visibility: opts.visibility,
    createdBy: opts.createdBy.id,
    lastSeq: msgs.length,
  });
  const memberRows = db
    .insert(roomMembers)
    .values(members.map((u) => ({ roomId: id, userId: u.id, addedBy: opts.createdBy.id })));
  if (msgs.length === 0) {
    await db.batch([room, memberRows]);
  } else {
    const messageRows = db.insert(messages).values(
      msgs.map((m) => ({
        id: m.id,
        roomId: id,
        seq: m.seq,
        authorId: m.author.id,
        body: m.deleted ? "" : `message ${m.seq}`,
        clientId: crypto.randomUUID(),
        deletedAt: m.deleted ? nowIso() : null,
      })),
    );
    await db.batch([room, memberRows, messageRows]);
  }
  return { id, messages: msgs.map((m) => m.id) };
}

export interface FileFixture {
  id: string;
  objectKey: string;
}

/** A file row; `stored` also puts its bytes (a 64-byte PNG) into the local R2 bucket. */
export async function insertFile(
  orgId: string,
  uploader: TestUser,
  opts: { roomId?: string; status: "pending" | "ready"; stored?: boolean },
): Promise<FileFixture> {
  const id = uuidv7();
  const objectKey = `${orgId}/${id}`;
  await testDb()
    .insert(files)
    .values({
      id,
      orgId,
      roomId: opts.roomId ?? null,
      uploaderId: uploader.id,
      objectKey,
      filename: "matrix.png",
      contentType: "image/png",
      size: 64,
      status: opts.status,
      expiresAt: opts.status === "pending" ? isoIn(3600) : null,
      completedAt: opts.status === "ready" ? nowIso() : null,
    });
  if (opts.stored ?? opts.status === "ready") await env.FILES.put(objectKey, png(64));
  return { id, objectKey };
}

export async function insertNotification(user: TestUser): Promise<string> {
  const id = uuidv7();
  await testDb()
    .insert(notifications)
    .values({ id, userId: user.id, type: "mention", data: { matrix: true } });
  return id;
}

// Readers: the state a request left behind.

export async function roomRow(roomId: string) {
  const [row] = await testDb().select().from(rooms).where(eq(rooms.id, roomId));
  return row;
}

export async function isRoomMember(roomId: string, userId: string): Promise<boolean> {
  const rows = await testDb()
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
  return rows.length > 0;
}

export async function lastReadSeq(roomId: string, userId: string): Promise<number | undefined> {
  const [row] = await testDb()
    .select({ seq: roomReads.lastReadSeq })
    .from(roomReads)
    .where(and(eq(roomReads.roomId, roomId), eq(roomReads.userId, userId)));
  return row?.seq;
}

export async function messageRow(messageId: string) {
  const [row] = await testDb().select().from(messages).where(eq(messages.id, messageId));
  return row;
}

export async function messagesOf(roomId: string) {
  return testDb().select().from(messages).where(eq(messages.roomId, roomId));
}

export async function fileRow(fileId: string) {
  const [row] = await testDb().select().from(files).where(eq(files.id, fileId));
  return row;
}

export async function filesOf(orgId: string) {
  return testDb().select().from(files).where(eq(files.orgId, orgId));
}

export async function readAt(notificationId: string): Promise<string | null | undefined> {
  const [row] = await testDb()
    .select({ readAt: notifications.readAt })
    .from(notifications)
    .where(eq(notifications.id, notificationId));
  return row?.readAt;
}
