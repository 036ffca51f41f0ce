import { z } from "@hono/zod-openapi";
import { IdSchema } from "../../lib/ids.ts";
import { name, text } from "../../lib/text.ts";

export const RoomSchema = z
  .object({
    id: IdSchema,
    orgId: IdSchema,
    name: z.string(),
    visibility: z.enum(["public", "private"]),
    createdBy: IdSchema.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastSeq: z.number().int().openapi({ description: "seq of the newest message (0: none)" }),
    unreadCount: z
      .number()
      .int()
      .openapi({ description: "Messages by others after your read position (room list only)" }),
  })
  .openapi("Room");

const RoomName = name({ max: 100 }).openapi({
  example: "general",
  description: "Trimmed; well-formed Unicode without control characters or line breaks",
});
/** 1..4000 characters; tab and newlines kept, CRLF and CR stored as LF, other controls refused. */
const MessageBody = text({ max: 4000 }).openapi({
  description:
    "Well-formed Unicode. Tabs and newlines are kept; CRLF and a lone CR are stored as LF; other control characters are refused.",
});
export const CreateRoomSchema = z
  .object({ name: RoomName, visibility: z.enum(["public", "private"]) })
  .strict()
  .openapi("CreateRoomBody");
export const PatchRoomSchema = z
  .object({ name: RoomName.optional(), visibility: z.enum(["public", "private"]).optional() })
  .strict()
  .openapi("PatchRoomBody");
export const AddRoomMemberSchema = z.object({ userId: IdSchema }).strict().openapi("AddRoomMemberBody");
export const ReadSchema = z
  .object({ seq: z.number().int().min(0) })
  .strict()
  .openapi("ReadPositionBody");

export const PostMessageSchema = z
  .object({
    body: MessageBody,
    clientId: z.uuid().openapi({ description: "Idempotency key, scoped to room + author" }),
    attachments: z
      .array(IdSchema)
      .max(10)
      .optional()
      .openapi({ description: "Ids of ready files the author may see" }),
  })
  .strict()
  .openapi("PostMessageBody");
export const EditMessageSchema = z.object({ body: MessageBody }).strict().openapi("EditMessageBody");

/** seq cursors: digits only (no `1.0` / `+1` aliases). */
const Seq = z
  .string()
  .regex(/^(0|[1-9]\d{0,15})$/, "a non-negative integer")
  .transform(Number);
export const HistoryQuerySchema = z.object({
  afterSeq: Seq.optional(),
  beforeSeq: Seq.optional(),
  limit: z
    .string()
    .regex(/^(?:[1-9]\d?|100)$/, "an integer from 1 to 100")
    .transform(Number)
    .optional(),
});
