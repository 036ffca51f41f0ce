import { z } from "@hono/zod-openapi";
import { IdSchema } from "../../lib/ids.ts";
import { line } from "../../lib/text.ts";
import { filenameProblem } from "../../services/files/file-types.ts";

export const FileSchema = z
  .object({
    id: IdSchema,
    orgId: IdSchema,
    roomId: IdSchema.nullable().openapi({ description: "Room files are visible to whoever sees the room" }),
    uploaderId: IdSchema.nullable(),
    filename: z.string().openapi({ description: "Metadata only: never part of a storage key or URL path" }),
    contentType: z.string(),
    size: z.number().int().openapi({ description: "Declared size in bytes; checked at completion" }),
    status: z.enum(["pending", "ready"]),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    expiresAt: z
      .string()
      .nullable()
      .openapi({ description: "Pending files: when the abandoned upload is cleaned up" }),
    downloadUrl: z.string().nullable().openapi({
      description:
        "Ready files: a short-lived signed URL serving the bytes without a bearer header (usable by <img>)",
    }),
    downloadExpiresAt: z.string().nullable(),
  })
  .openapi("File");

const Filename = line({ max: 255 })
  .superRefine((name, ctx) => {
    const problem = filenameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({
    example: "diagram.png",
    description: "A bare name: no path separators, controls or bidi marks",
  });

export const CreateFileSchema = z
  .object({
    filename: Filename,
    contentType: z
      .string()
      .max(127)
      .regex(/^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/, "a media type without parameters")
      .transform((t) => t.toLowerCase())
      .openapi({ example: "image/png" }),
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({ example: 48213 }),
    orgId: IdSchema,
    roomId: IdSchema.optional().openapi({ description: "Upload into a room (required for guests)" }),
  })
  .strict()
  .openapi("CreateFileBody");

export const UploadTargetSchema = z
  .object({
    method: z.literal("PUT"),
    url: z.string(),
    headers: z.record(z.string(), z.string()).openapi({
      description:
        "Send exactly these (content-length is normally set by the HTTP client from the body); the store refuses anything else",
    }),
    expiresAt: z.string(),
  })
  .openapi("UploadTarget");

export const CreatedFileSchema = z
  .object({ file: FileSchema, upload: UploadTargetSchema })
  .openapi("CreatedFile");

export const FileParams = z.object({ fileId: IdSchema });

/** The signed-URL query: `exp` (unix seconds) and `sig` (base64url HMAC-SHA-256). */
export const SignedQuerySchema = z.object({
  exp: z.string().regex(/^[1-9]\d{0,11}$/, "unix seconds"),
  sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "a signature"),
});
