import { and, eq, inArray, lt } from "drizzle-orm";
import type { ObjectStorage } from "../../adapters/storage.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import type { Database } from "../../db/client.ts";
import { files, memberships } from "../../db/schema.ts";
import { ApiError, type FieldError } from "../../lib/errors.ts";
import { nowIso } from "../../lib/ids.ts";
import { errorFields, type Logger } from "../../lib/log.ts";
import { can } from "../orgs/rbac.ts";
import type { RoomGrant } from "../rooms/room-grant.ts";
import { roomAccess } from "../rooms/rooms.ts";

export type FileRow = typeof files.$inferSelect;

const notFound = () => new ApiError("not_found", "No such file.");

export const isExpired = (f: FileRow, now = nowIso()) =>
  f.status === "pending" && f.expiresAt !== null && f.expiresAt < now;

export async function loadFile(ctx: Pick<ServiceContext, "db">, fileId: string): Promise<FileRow> {
  const [row] = await ctx.db.select().from(files).where(eq(files.id, fileId));
  if (!row) throw notFound();
  return row;
}

/**
 * A file as `userId` may see it, or 404 (never revealing which): its uploader and the org's
 * admins (`files.moderate`) see it, and manage it (complete, delete); once ready, so does anyone
 * who can see its room. Everyone must still be a member of the file's org.
 */
export async function fileAccess(
  ctx: Pick<ServiceContext, "db">,
  fileId: string,
  userId: string,
): Promise<{ file: FileRow; canManage: boolean }> {
  const [row] = await ctx.db
    .select({ file: files, role: memberships.role })
    .from(files)
    .leftJoin(memberships, and(eq(memberships.orgId, files.orgId), eq(memberships.userId, userId)))
    .where(eq(files.id, fileId));
  if (!row?.role) throw notFound();
  const { file, role } = row;
  if (file.uploaderId === userId || can(role, "files.moderate")) return { file, canManage: true };
  if (file.status === "ready" && file.roomId) {
    const visible = await roomAccess(ctx, file.roomId, userId).then(
      () => true,
      (err) => {
        if (err instanceof ApiError && err.code === "not_found") return false;
        throw err;
      },
    );
    if (visible) return { file, canManage: false };
  }
  throw notFound();
}

/**
 * Message attachments: ready files uploaded for that very room. The author can see the room (the
 * message route checked), so they can see such a file, and so can every reader of the message;
 * a file of another room or org-wide would be a link most readers could not open. Unknown,
 * foreign and invisible ids get the same answer.
 */
export async function checkAttachments(
  ctx: Pick<ServiceContext, "db">,
  access: RoomGrant,
  authorId: string,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  const rows = await ctx.db.select().from(files).where(inArray(files.id, ids));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const mayManage = (f: FileRow) => f.uploaderId === authorId || can(access.orgRole, "files.moderate");
  const errors: FieldError[] = [];
  ids.forEach((id, i) => {
    const f = byId.get(id);
    const path = `attachments.${i}`;
    if (ids.indexOf(id) !== i) errors.push({ path, message: "listed twice" });
    else if (!f || f.roomId !== access.room.id || (f.status !== "ready" && !mayManage(f)))
      errors.push({ path, message: "no such file in this room" });
    else if (f.status !== "ready") errors.push({ path, message: "the upload is not complete" });
  });
  if (errors.length) {
    throw new ApiError("validation_failed", "Attachments must be ready files of this room.", { errors });
  }
}

/**
 * Pending uploads past their expiry: the object (if any) goes first, then the row, so a failed
 * delete is retried on the next run instead of leaving an object nothing points to.
 */
export async function cleanupExpiredUploads(
  deps: { db: Database; storage: ObjectStorage; log: Logger },
  now = nowIso(),
  limit = 200,
): Promise<number> {
  const expired = await deps.db
    .select({ id: files.id, objectKey: files.objectKey })
    .from(files)
    .where(and(eq(files.status, "pending"), lt(files.expiresAt, now)))
    .limit(limit);
  const gone: string[] = [];
  for (const f of expired) {
    try {
      await deps.storage.delete(f.objectKey);
      gone.push(f.id);
    } catch (err) {
      deps.log.warn("could not delete an abandoned upload", { fileId: f.id, ...errorFields(err) });
    }
  }
  if (gone.length) {
    await deps.db
      .delete(files)
      .where(and(inArray(files.id, gone), eq(files.status, "pending"), lt(files.expiresAt, now)));
  }
  return gone.length;
}

/** Object keys of every file of an org: read before the org is deleted (its rows go by cascade). */
export async function objectKeysOfOrg(ctx: Pick<ServiceContext, "db">, orgId: string): Promise<string[]> {
  const rows = await ctx.db.select({ key: files.objectKey }).from(files).where(eq(files.orgId, orgId));
  return rows.map((r) => r.key);
}

/** Delete objects after the response; a failure leaves an orphan object, never a broken response. */
export function deleteObjectsLater(
  ctx: Pick<ServiceContext, "defer" | "log">,
  storage: { delete(key: string): Promise<void> },
  keys: string[],
) {
  if (keys.length === 0) return;
  ctx.defer(
    Promise.allSettled(keys.map((k) => storage.delete(k))).then((results) => {
      const failed = results.filter((r) => r.status === "rejected").length;
      if (failed)
        ctx.log.warn("some objects of a deleted org were not removed", { failed, total: keys.length });
    }),
  );
}
