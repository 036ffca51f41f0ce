/**
 * Bodies of the API's internal routes (src/routes/internal/internal.routes.ts), which the party
 * servers call with the service credential (history pages are MessageHistorySchema). The routes declare them and the parties parse every
 * reply with them: a reply that does not match is the API's failure, never data to act on.
 * Plain `zod`, no Hono: party/ bundles this module.
 */
import { z } from "zod";
import { IdSchema } from "../lib/ids.ts";
import { line } from "../lib/text.ts";
import { MessageSchema } from "./message.schema.ts";

/** POST /v1/internal/rooms/:roomId/messages → 201 (stored) or 200 (already stored under its clientId). */
export const StoredMessageSchema = z.object({ message: MessageSchema });

/** GET /v1/internal/rooms/:roomId/state */
export const RoomStateSchema = z.object({ lastSeq: z.number().int() });

/** At most this many sessions per check; a party with more connected sessions asks in pages. */
export const SESSION_CHECK_MAX_IDS = 1000;

/** POST /v1/internal/sessions/check */
export const SessionCheckBodySchema = z
  .object({ sessionIds: z.array(line({ max: 64 })).max(SESSION_CHECK_MAX_IDS) })
  .strict();
export const SessionCheckSchema = z.object({ revoked: z.array(z.string()) });

/** At most this many users per access check; a party with more connected users asks in pages. */
export const ACCESS_CHECK_MAX_USERS = 200;

/** POST /v1/internal/rooms/:roomId/access: which of these connected users may no longer see the room. */
export const AccessCheckBodySchema = z
  .object({ userIds: z.array(IdSchema).max(ACCESS_CHECK_MAX_USERS) })
  .strict();
/**
 * A deleted room answers `roomDeleted: true` (every socket closes), not 404: a 404 could also be
 * an API that lacks the route, and must not close a room's sockets.
 */
export const AccessCheckSchema = z.object({ denied: z.array(z.string()), roomDeleted: z.boolean() });

/** The fields of a problem document (4xx/5xx) that a party passes on to its client. */
export const ProblemReplySchema = z.object({
  code: z.string().optional(),
  title: z.string().optional(),
  detail: z.string().optional(),
});

/**
 * POST /v1/internal/rooms/:roomId/messages/batch (group commit): at most this many messages and
 * bytes per call; the party splits a larger flush. The byte bound is the API's default
 * MAX_BODY_BYTES, which caps every route's body.
 */
export const MESSAGE_BATCH_MAX = 32;
export const MESSAGE_BATCH_BODY_LIMIT = 64 * 1024;

/** One message's outcome, in the order sent: stored (201), already stored (200), or refused (4xx). */
export const BatchResultSchema = z.union([
  z.object({ status: z.union([z.literal(200), z.literal(201)]), message: MessageSchema }),
  z.object({
    status: z.number().int().min(400).max(499),
    problem: ProblemReplySchema,
    /** Seconds, on a `rate_limited` refusal. */
    retryAfter: z.number().int().min(1).optional(),
  }),
]);
export const MessageBatchReplySchema = z.object({ results: z.array(BatchResultSchema) });
