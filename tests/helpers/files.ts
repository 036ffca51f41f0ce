import { expect } from "vitest";
import type { z } from "zod";
import {
  CreatedFileSchema,
  FileSchema,
  type UploadTargetSchema,
} from "../../src/routes/files/files.schema.ts";
import { api, apiWithEnv, jsonBody, parsed } from "./api.ts";
import { bearer, type TestUser } from "./users.ts";

/** The file as the API returns it (its OpenAPI schema). */
export type FileView = z.output<typeof FileSchema>;
export type Upload = z.output<typeof UploadTargetSchema>;

/** A PNG as far as any check here looks: the 8-byte signature, then filler. */
export function png(size = 64): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x42);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}
export const text = (s: string) => new TextEncoder().encode(s);

export interface Declaration {
  filename?: string;
  contentType?: string;
  size: number;
  orgId: string;
  roomId?: string;
}

/** POST /v1/files, optionally with some configuration replaced (`apiWithEnv`). */
export function declare(user: TestUser, body: Declaration, env?: Record<string, string>): Promise<Response> {
  const init = jsonBody({ filename: "a.png", contentType: "image/png", ...body }, bearer(user.accessToken));
  return env ? apiWithEnv(env, "/v1/files", init) : api("/v1/files", init);
}

export async function declared(user: TestUser, body: Declaration, env?: Record<string, string>) {
  const res = await declare(user, body, env);
  expect(res.status, await res.clone().text()).toBe(201);
  return parsed(res, CreatedFileSchema);
}

/** The path + query of an absolute URL the Worker handed out, to call it in-process. */
export const local = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

/** PUT to the Worker's signed upload URL (R2 path), with the upload's headers unless overridden. */
export function putContent(
  upload: Upload,
  body: BodyInit | null,
  headers: Record<string, string> = {},
): Promise<Response> {
  return api(local(upload.url), {
    method: "PUT",
    headers: { "content-type": upload.headers["content-type"]!, ...headers },
    body,
  });
}

/** A chunked body (no Content-Length): `chunks` pieces of `size` bytes. */
export function chunked(chunks: number, size: number, first = png(size)): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === chunks) return controller.close();
      controller.enqueue(sent === 0 ? first : new Uint8Array(size).fill(0x41));
      sent++;
    },
  });
}

export function complete(user: TestUser, fileId: string, env?: Record<string, string>): Promise<Response> {
  const init = { ...bearer(user.accessToken), method: "POST" };
  const path = `/v1/files/${fileId}/complete`;
  return env ? apiWithEnv(env, path, init) : api(path, init);
}

export function getFile(user: TestUser, fileId: string, env?: Record<string, string>): Promise<Response> {
  return env
    ? apiWithEnv(env, `/v1/files/${fileId}`, bearer(user.accessToken))
    : api(`/v1/files/${fileId}`, bearer(user.accessToken));
}

/** Declare, upload through the Worker (R2 path) and complete: a ready file. */
export async function readyFile(user: TestUser, body: Declaration, bytes: Uint8Array = png(body.size)) {
  const { file, upload } = await declared(user, body);
  const put = await putContent(upload, bytes);
  expect(put.status, await put.text()).toBe(204);
  const res = await complete(user, file.id);
  expect(res.status, await res.clone().text()).toBe(200);
  return parsed(res, FileSchema);
}
