import { hmac, timingSafeEqual } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";

/**
 * Signed, expiring URLs to the Worker's own file routes (the R2 path): `PUT` and `GET
 * /v1/files/:id/content?exp=&sig=`. They authorise without a bearer header, so an `<img>` or a
 * plain upload can use them. The HMAC (under SERVER_SECRET) binds the purpose, the file id and the
 * expiry; size and type come from the file record, which the route enforces.
 */
export type FileUrlKind = "upload" | "download";

export interface SignedFileUrl {
  url: string;
  expiresAt: string;
}

const payload = (kind: FileUrlKind, fileId: string, exp: number) => `${kind}\n${fileId}\n${exp}`;

export async function signFileUrl(
  secret: string,
  baseUrl: string,
  kind: FileUrlKind,
  fileId: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<SignedFileUrl> {
  const exp = Math.floor(now / 1000) + ttlSeconds;
  const sig = await hmac(secret, "file-url", payload(kind, fileId, exp));
  const url = new URL(`/v1/files/${fileId}/content`, baseUrl);
  url.search = new URLSearchParams({ exp: String(exp), sig }).toString();
  return { url: url.toString(), expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * Refuses (403) a signature that does not match or has expired, before anything is loaded. Both
 * answer like a store refusing a presigned URL; only the detail differs.
 */
export async function verifyFileUrl(
  secret: string,
  kind: FileUrlKind,
  fileId: string,
  query: { exp: string; sig: string },
  now = Date.now(),
): Promise<void> {
  const exp = Number(query.exp);
  const expected = await hmac(secret, "file-url", payload(kind, fileId, exp));
  if (!timingSafeEqual(expected, query.sig)) {
    throw new ApiError("forbidden", "The signature of this URL is not valid.");
  }
  if (exp * 1000 < now) throw new ApiError("forbidden", "This URL has expired.");
}
