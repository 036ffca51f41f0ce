/**
 * Bodies of the API's internal routes (src/routes/internal/internal.routes.ts), which the party
 * servers call with the service credential (history pages are MessageHistorySchema). The routes declare them and the parties parse every
 * reply with them: a reply that does not match is the API's failure, never data to act on.
 * Plain `zod`, no Hono: party/ bundles this module.
 */
import { z } from "zod";
import { line } from "../lib/text.ts";
import { MessageSchema } from "./message.schema.ts";

/** POST /v1/internal/rooms/:roomId/messages → 201 (stored) or 200 (already stored under its clientId). */
export const StoredMessageSchema = z.object({ message: MessageSchema });

/** GET /v1/internal/rooms/:roomId/state */
export const RoomStateSchema = z.object({ lastSeq: z.number().int() });

/** POST /v1/internal/sessions/check */
export const SessionCheckBodySchema = z.object({ sessionIds: z.array(line({ max: 64 })).max(1000) }).strict();
export const SessionCheckSchema = z.object({ revoked: z.array(z.string()) });

/** The fields of a problem document (4xx/5xx) that a party passes on to its client. */
export const ProblemReplySchema = z.object({
  code: z.string().optional(),
  title: z.string().optional(),
  detail: z.string().optional(),
});
