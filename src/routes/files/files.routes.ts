import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, jsonContent, jsonResponse, route } from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { apiLimit, rateLimit } from "../../middleware/rate-limit.ts";
import * as filesService from "../../services/files/files.ts";
import { openContent, receiveContent } from "../../services/files/files-content.ts";
import {
  CreatedFileSchema,
  CreateFileSchema,
  FileParams,
  FileSchema,
  SignedQuerySchema,
} from "./files.schema.ts";

const tags = ["Files"];
const security = [{ bearerAuth: [] }];
const binary = { "*/*": { schema: z.string().openapi({ format: "binary" }) } };

const uploadLimit = rateLimit({
  name: "files",
  limit: (config) => config.FILES_RATE_LIMIT,
  windowSeconds: (config) => config.FILES_RATE_WINDOW_SECONDS,
  key: (c) => (c.var.auth ? `user:${c.var.auth.userId}` : undefined),
  onStoreFailure: "open",
});

const create = route({
  method: "post",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), uploadLimit],
  summary: "Declare an upload",
  description:
    "Checks the declared size (FILES_MAX_BYTES → 413), type (allow-list → 415) and your quota (403 `quota_exceeded`), records a pending file and returns where to PUT the bytes: a presigned S3 URL whose signature covers content-type, content-length and content-disposition, or the Worker's signed upload URL (R2). Either expires within 15 minutes. Then call `complete`. Members upload org-wide or into rooms they see; guests only into rooms they were added to. 60 per hour per user by default.",
  request: { body: jsonContent(CreateFileSchema) },
  responses: {
    201: jsonResponse("Pending", CreatedFileSchema),
    ...errorResponses(400, 401, 403, 404, 413, 415, 429),
  },
});
const upload = route({
  method: "put",
  bodyLimit: "stream", // limited to the declared size by receiveContent()
  path: "/{fileId}/content",
  middleware: [apiLimit],
  tags,
  summary: "Upload the bytes (R2 path, signed URL)",
  description:
    "Authorised by the signed URL from `POST /v1/files` (no bearer header). The body must have exactly the declared size and the declared Content-Type: a different Content-Length is refused at once, a longer chunked body is cut off at the limit (413), a shorter one refused (400); nothing of a refused upload is kept. 403 for a bad or expired signature; 409 once complete.",
  request: { params: FileParams, query: SignedQuerySchema, body: { content: binary, required: true } },
  responses: { 204: { description: "Stored" }, ...errorResponses(400, 403, 404, 409, 413, 415, 503) },
});
const download = route({
  method: "get",
  path: "/{fileId}/content",
  middleware: [apiLimit],
  tags,
  summary: "The bytes (R2 path, signed URL)",
  description:
    "The `downloadUrl` of a ready file (no bearer header). Served with `Content-Disposition: attachment` (inline only for PNG, JPEG, GIF, WebP, AVIF) and an RFC 6266 filename, `X-Content-Type-Options: nosniff` and `Content-Security-Policy: default-src 'none'; sandbox`.",
  request: { params: FileParams, query: SignedQuerySchema },
  responses: { 200: { description: "The file", content: binary }, ...errorResponses(400, 403, 404, 503) },
});
const complete = route({
  method: "post",
  path: "/{fileId}/complete",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "Finish an upload",
  description:
    "Checks the stored object's size and leading bytes (magic bytes; UTF-8 for text) against the declaration. A mismatch deletes the object and answers 415; the file stays pending, so the upload URL may be used again until it expires. 409 when nothing was uploaded yet, 410 when the pending file expired. Idempotent once ready. Uploader or org admin.",
  request: { params: FileParams },
  responses: { 200: jsonResponse("Ready", FileSchema), ...errorResponses(400, 401, 403, 404, 409, 415, 503) },
});
const get = route({
  method: "get",
  path: "/{fileId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "File metadata",
  description:
    "Visible to the uploader, org admins and, once ready, whoever can see the file's room; 404 for everyone else. A ready file carries a short-lived `downloadUrl`.",
  request: { params: FileParams },
  responses: { 200: jsonResponse("The file", FileSchema), ...errorResponses(400, 401, 404) },
});
const redirect = route({
  method: "get",
  path: "/{fileId}/download",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "Redirect to the download URL",
  description: "302 to the ready file's signed `downloadUrl`; 409 while the upload is pending.",
  request: { params: FileParams },
  responses: { 302: { description: "To the signed URL" }, ...errorResponses(400, 401, 404, 409) },
});
const remove = route({
  method: "delete",
  path: "/{fileId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "Delete a file and its object",
  description: "Uploader or org admin+. Messages that attached it keep the id; it no longer resolves.",
  request: { params: FileParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404, 503) },
});

export const fileRoutes = createRouter()
  .openapi(create, async (c) => {
    return c.json(await filesService.createFile(svc(c), caller(c).userId, c.req.valid("json")), 201);
  })
  .openapi(upload, async (c) => {
    const { fileId } = c.req.valid("param");
    await receiveContent(svc(c), fileId, c.req.valid("query"), {
      contentType: c.req.header("content-type"),
      contentLength: c.req.header("content-length"),
      body: c.req.raw.body,
    });
    return c.body(null, 204);
  })
  .openapi(download, async (c) => {
    const { fileId } = c.req.valid("param");
    const { body, headers } = await openContent(svc(c), fileId, c.req.valid("query"));
    return c.body(body, 200, headers);
  })
  .openapi(complete, async (c) => {
    const file = await filesService.completeUpload(svc(c), c.req.valid("param").fileId, caller(c).userId);
    return c.json(file, 200);
  })
  .openapi(get, async (c) => {
    return c.json(await filesService.getFile(svc(c), c.req.valid("param").fileId, caller(c).userId), 200);
  })
  .openapi(redirect, async (c) => {
    const file = await filesService.getFile(svc(c), c.req.valid("param").fileId, caller(c).userId);
    if (!file.downloadUrl) throw filesService.notReady();
    c.header("Cache-Control", "no-store");
    return c.redirect(file.downloadUrl, 302);
  })
  .openapi(remove, async (c) => {
    await filesService.deleteFile(svc(c), c.req.valid("param").fileId, caller(c).userId);
    return c.body(null, 204);
  });
