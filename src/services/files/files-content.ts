import { BodyLengthError } from "../../adapters/storage.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { ApiError } from "../../lib/errors.ts";
import { errorFields } from "../../lib/log.ts";
import { contentDisposition, mediaType } from "./file-types.ts";
import { type FileRow, isExpired, loadFile } from "./files-access.ts";
import { verifyFileUrl } from "./signed-urls.ts";

/**
 * The Worker's own content routes, used with the R2 binding (which cannot presign): they are
 * authorised by signed URLs (src/services/files/signed-urls.ts), not by a bearer header.
 */

/**
 * The Worker's upload route (R2 path), authorised by its signed URL. The body is streamed into
 * storage and must be exactly the declared size and type: a longer one is cut off at the limit,
 * and nothing of a refused upload remains stored.
 */
export async function receiveContent(
  ctx: ServiceContext,
  fileId: string,
  query: { exp: string; sig: string },
  req: { contentType: string | undefined; contentLength: string | undefined; body: ReadableStream | null },
) {
  await verifyFileUrl(ctx.config.SERVER_SECRET, "upload", fileId, query);
  const file = await loadFile(ctx, fileId);
  if (isExpired(file)) throw new ApiError("gone", "This upload has expired; create a new file.");
  if (file.status !== "pending") throw new ApiError("conflict", "This file is already complete.");
  if (mediaType(req.contentType) !== file.contentType) {
    throw new ApiError("unsupported_media_type", `The content must be sent as ${file.contentType}.`);
  }
  const declared = req.contentLength === undefined ? undefined : Number(req.contentLength);
  if (declared !== undefined && declared > file.size) throw tooLong(file);
  if (declared !== undefined && declared !== file.size) throw tooShort(file);
  if (!req.body) throw tooShort(file);
  let stored: boolean;
  try {
    // Puts are atomic: a refused body leaves nothing behind. `ifAbsent` never replaces content
    // that `complete` may be checking at this moment (a refused upload is deleted, so retry works).
    stored = await ctx.storage.put(file.objectKey, req.body, {
      contentType: file.contentType,
      contentLength: file.size,
      framed: declared === file.size,
      ifAbsent: true,
    });
  } catch (err) {
    if (!(err instanceof BodyLengthError)) throw err;
    await removePartial(ctx, file);
    throw err.problem === "too_long" ? tooLong(file) : tooShort(file);
  }
  if (!stored) {
    throw new ApiError(
      "conflict",
      "Content was already uploaded: complete the file, or delete it and start over.",
    );
  }
}

/**
 * R2 and S3 never keep a body that ended early, but some S3-compatible servers do (s3rver keeps
 * an empty object). Whatever is left at the wrong size goes; an object of the declared size can
 * only be an earlier, complete upload and stays.
 */
async function removePartial(ctx: ServiceContext, file: FileRow) {
  try {
    const left = await ctx.storage.head(file.objectKey);
    if (left && left.size !== file.size) await ctx.storage.delete(file.objectKey);
  } catch (err) {
    ctx.log.warn("could not remove a partial upload", { fileId: file.id, ...errorFields(err) });
  }
}

const tooLong = (f: FileRow) =>
  new ApiError("payload_too_large", `The content must be exactly ${f.size} bytes.`);
const tooShort = (f: FileRow) =>
  new ApiError("validation_failed", `The content must be exactly ${f.size} bytes.`, {
    errors: [{ path: "(body)", message: `must be ${f.size} bytes` }],
  });

/**
 * The Worker's download route (R2 path), authorised by its signed URL: the bytes with headers
 * that keep a browser from running them (attachment unless a safe image, nosniff, sandbox CSP).
 */
export async function openContent(ctx: ServiceContext, fileId: string, query: { exp: string; sig: string }) {
  await verifyFileUrl(ctx.config.SERVER_SECRET, "download", fileId, query);
  const file = await loadFile(ctx, fileId);
  const obj = file.status === "ready" ? await ctx.storage.get(file.objectKey) : null;
  if (!obj) throw new ApiError("not_found", "No such file.");
  const text = file.contentType.startsWith("text/") || file.contentType === "application/json";
  const headers: Record<string, string> = {
    "Content-Type": text ? `${file.contentType}; charset=utf-8` : file.contentType,
    "Content-Length": String(obj.size),
    "Content-Disposition": contentDisposition(file.filename, file.contentType),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    // Signed URLs are meant for <img> and links on the app's origin, which may differ from the API's.
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": `private, max-age=${Math.max(0, Number(query.exp) - Math.floor(Date.now() / 1000))}`,
  };
  return { body: obj.body, headers };
}
