import { and, eq, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { files } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { findMembership } from "../orgs/orgs.ts";
import { roomAccess } from "../rooms/rooms.ts";
import { beforeChange, dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";
import { contentDisposition, contentMatches, HEAD_BYTES, isAllowedType } from "./file-types.ts";
import { type FileRow, fileAccess, isExpired, loadFile } from "./files-access.ts";
import { signFileUrl } from "./signed-urls.ts";

export interface FileView {
  id: string;
  orgId: string;
  roomId: string | null;
  uploaderId: string | null;
  filename: string;
  contentType: string;
  size: number;
  status: "pending" | "ready";
  createdAt: string;
  completedAt: string | null;
  expiresAt: string | null;
  downloadUrl: string | null;
  downloadExpiresAt: string | null;
}

export interface UploadTarget {
  method: "PUT";
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

/** A short-lived URL that serves the bytes without a bearer header: presigned S3, or the Worker's signed route. */
async function downloadUrl(ctx: ServiceContext, f: FileRow) {
  const ttl = ctx.config.FILES_DOWNLOAD_URL_TTL;
  if (ctx.storage.presign) {
    return { url: await ctx.storage.presign.get(f.objectKey, ttl), expiresAt: isoIn(ttl) };
  }
  return signFileUrl(ctx.config.SERVER_SECRET, ctx.config.PUBLIC_API_URL, "download", f.id, ttl);
}

export async function toFileView(ctx: ServiceContext, f: FileRow): Promise<FileView> {
  const dl = f.status === "ready" ? await downloadUrl(ctx, f) : null;
  return {
    id: f.id,
    orgId: f.orgId,
    roomId: f.roomId,
    uploaderId: f.uploaderId,
    filename: f.filename,
    contentType: f.contentType,
    size: f.size,
    status: f.status,
    createdAt: f.createdAt,
    completedAt: f.completedAt,
    expiresAt: f.expiresAt,
    downloadUrl: dl?.url ?? null,
    downloadExpiresAt: dl?.expiresAt ?? null,
  };
}

async function uploadTarget(ctx: ServiceContext, f: FileRow): Promise<UploadTarget> {
  const ttl = ctx.config.FILES_UPLOAD_URL_TTL;
  if (ctx.storage.presign) {
    const { url, headers } = await ctx.storage.presign.put(f.objectKey, {
      contentType: f.contentType,
      contentLength: f.size,
      contentDisposition: contentDisposition(f.filename, f.contentType),
      expiresIn: ttl,
    });
    return { method: "PUT", url, headers, expiresAt: isoIn(ttl) };
  }
  const signed = await signFileUrl(ctx.config.SERVER_SECRET, ctx.config.PUBLIC_API_URL, "upload", f.id, ttl);
  const headers = { "content-type": f.contentType, "content-length": String(f.size) };
  return { method: "PUT", url: signed.url, headers, expiresAt: signed.expiresAt };
}

export interface CreateFileInput {
  filename: string;
  contentType: string;
  size: number;
  orgId: string;
  roomId?: string | undefined;
}

/**
 * Validate the declaration, reserve quota and record a pending file. The quota check and the
 * insert are one statement, so concurrent uploads cannot overshoot it together.
 */
export async function createFile(ctx: ServiceContext, userId: string, input: CreateFileInput) {
  const { config } = ctx;
  if (input.size > config.FILES_MAX_BYTES) {
    throw new ApiError("payload_too_large", `Files may have at most ${config.FILES_MAX_BYTES} bytes.`);
  }
  if (!isAllowedType(input.contentType, config.FILES_ALLOWED_TYPES)) {
    throw new ApiError("unsupported_media_type", `Files of type ${input.contentType} are not accepted.`);
  }
  const membership = await findMembership(ctx, input.orgId, userId);
  if (!membership) throw new ApiError("not_found", "No such organization.");
  if (input.roomId) {
    const access = await roomAccess(ctx, input.roomId, userId);
    if (access.room.orgId !== input.orgId) throw new ApiError("not_found", "No such room.");
  } else if (membership.role === "guest") {
    throw new ApiError("forbidden", "Guests upload only into rooms they were added to (roomId).");
  }
  const id = uuidv7();
  const now = nowIso();
  const row: FileRow = {
    id,
    orgId: input.orgId,
    roomId: input.roomId ?? null,
    uploaderId: userId,
    objectKey: `${input.orgId}/${id}`,
    filename: input.filename,
    contentType: input.contentType,
    size: input.size,
    status: "pending",
    expiresAt: isoIn(Math.max(config.FILES_PENDING_TTL, config.FILES_UPLOAD_URL_TTL)),
    createdAt: now,
    completedAt: null,
  };
  const inserted = await ctx.db.run(sql`
    insert into files (id, org_id, room_id, uploader_id, object_key, filename, content_type, size, status, expires_at, created_at)
    select ${row.id}, ${row.orgId}, ${row.roomId}, ${userId}, ${row.objectKey}, ${row.filename}, ${row.contentType}, ${row.size}, 'pending', ${row.expiresAt}, ${now}
    where (select coalesce(sum(size), 0) from files where uploader_id = ${userId} and (status = 'ready' or expires_at > ${now})) + ${row.size} <= ${config.FILES_QUOTA_BYTES}`);
  if (inserted.rowsAffected === 0) {
    throw new ApiError(
      "quota_exceeded",
      `This upload would take you over your ${config.FILES_QUOTA_BYTES}-byte quota.`,
    );
  }
  return { file: await toFileView(ctx, row), upload: await uploadTarget(ctx, row) };
}

/** Refuse the stored object: it is deleted, and the file stays pending for another upload. */
async function refuse(ctx: ServiceContext, f: FileRow, detail: string): Promise<never> {
  await ctx.storage.delete(f.objectKey);
  throw new ApiError("unsupported_media_type", detail);
}

/** Check the stored object against the declaration (size, then magic bytes) and mark the file ready. */
export async function completeUpload(ctx: ServiceContext, fileId: string, userId: string) {
  const { file, canManage } = await fileAccess(ctx, fileId, userId);
  if (!canManage)
    throw new ApiError("forbidden", "Only the uploader or an org admin can complete an upload.");
  if (file.status === "ready") return toFileView(ctx, file);
  if (isExpired(file)) throw new ApiError("gone", "This upload has expired; create a new file.");
  const stored = await ctx.storage.head(file.objectKey);
  if (!stored) throw new ApiError("conflict", "No content has been uploaded for this file yet.");
  if (stored.size !== file.size) {
    await refuse(ctx, file, `The upload has ${stored.size} bytes, but ${file.size} were declared.`);
  }
  const head = await ctx.storage.readHead(file.objectKey, Math.min(file.size, HEAD_BYTES));
  if (!head || !contentMatches(file.contentType, head)) {
    await refuse(ctx, file, `The content is not ${file.contentType}.`);
  }
  const completedAt = nowIso();
  // The event only if this very update made the file ready (a concurrent complete made it first otherwise).
  const madeReady = sql`exists (select 1 from ${files} where ${files.id} = ${file.id} and ${files.completedAt} = ${completedAt})`;
  const hooks = await webhookEvents(ctx, file.orgId, "file.ready", payload.file(file.id), madeReady);
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(files)
      .set({ status: "ready", completedAt, expiresAt: null })
      .where(and(eq(files.id, file.id), eq(files.status, "pending")))
      .returning(),
    ...hooks.statements,
  ]);
  dispatchWebhooks(ctx, hooks);
  return toFileView(ctx, row ?? (await loadFile(ctx, file.id)));
}

export const notReady = () => new ApiError("conflict", "The upload of this file is not complete.");

export async function getFile(ctx: ServiceContext, fileId: string, userId: string) {
  return toFileView(ctx, (await fileAccess(ctx, fileId, userId)).file);
}

export async function deleteFile(ctx: ServiceContext, fileId: string, userId: string) {
  const { file, canManage } = await fileAccess(ctx, fileId, userId);
  if (!canManage) throw new ApiError("forbidden", "Only the uploader or an org admin can delete a file.");
  // The object first: if that fails, the row stays and the delete can be retried.
  await ctx.storage.delete(file.objectKey);
  // Only ready files were announced, so only they announce their deletion.
  const exists = sql`exists (select 1 from ${files} where ${files.id} = ${file.id} and ${files.status} = 'ready')`;
  const gone = await webhookEvents(ctx, file.orgId, "file.deleted", payload.file(file.id), exists);
  await ctx.db.batch(beforeChange(gone, ctx.db.delete(files).where(eq(files.id, file.id))));
  dispatchWebhooks(ctx, gone);
}
