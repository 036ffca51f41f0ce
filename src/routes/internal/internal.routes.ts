import { z } from "@hono/zod-openapi";
import { svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  MESSAGE_BODY_LIMIT,
  route,
} from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { authorApiLimit, consumeApiBudget } from "../../middleware/rate-limit.ts";
import { requireService } from "../../middleware/service-auth.ts";
import { sessionsNoLongerValid } from "../../services/identity/revocation.ts";
import { type BatchOutcome, postMessageBatch } from "../../services/rooms/message-batch.ts";
import * as messagesService from "../../services/rooms/messages.ts";
import { roomAccess, usersDeniedRoom } from "../../services/rooms/rooms.ts";
import {
  ACCESS_CHECK_MAX_USERS,
  AccessCheckBodySchema,
  AccessCheckSchema,
  MESSAGE_BATCH_BODY_LIMIT,
  MESSAGE_BATCH_MAX,
  MessageBatchReplySchema,
  RoomStateSchema,
  SESSION_CHECK_MAX_IDS,
  SessionCheckBodySchema,
  SessionCheckSchema,
  StoredMessageSchema,
} from "../../shared/internal-api.schema.ts";
import { MessageHistorySchema } from "../../shared/message.schema.ts";
import { HistoryQuerySchema, PostMessageSchema } from "../rooms/rooms.schema.ts";

/**
 * Routes the PartyKit parties call (they never open the database). They authenticate with the
 * service credential, and act for the user the party verified from its ticket.
 */
const tags = ["Internal"];
const security = [{ serviceToken: [] }];
const middleware = [requireService()];
const RoomParams = z.object({ roomId: IdSchema });
/** The user the party acts for (verified from its ticket): the route applies that user's access. */
const ForUser = z.object({ userId: IdSchema });

const post = route({
  method: "post",
  bodyLimit: MESSAGE_BODY_LIMIT,
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  // The author's own API budget (the same counter as REST posts): sockets are no way around it.
  middleware: [...middleware, authorApiLimit],
  summary: "Persist a socket message (same path as REST)",
  description: "Access re-checked and counted against the author's per-user API limit, like REST.",
  request: {
    params: RoomParams,
    body: jsonContent(
      PostMessageSchema.extend({ authorId: IdSchema }).strict().openapi("InternalPostMessageBody"),
    ),
  },
  responses: {
    201: jsonResponse("Created", StoredMessageSchema),
    200: jsonResponse("Already stored under this clientId", StoredMessageSchema),
    ...errorResponses(400, 401, 404, 409, 429),
  },
});
const InternalPostSchema = PostMessageSchema.extend({ authorId: IdSchema }).strict();
const batch = route({
  method: "post",
  bodyLimit: MESSAGE_BATCH_BODY_LIMIT,
  path: "/rooms/{roomId}/messages/batch",
  tags,
  security,
  middleware,
  summary: "Persist several socket messages at once (group commit)",
  description: `Up to ${MESSAGE_BATCH_MAX} messages for one room in one database transaction, seqs in the order given. Each message is answered on its own, in order: 201 stored, 200 already stored under its clientId, or a 4xx problem (404 its author may not see the room, 400 a bad attachment, 409 a clientId reused with another body, 429 its author's API budget, the same counter as REST posts). One refusal never fails the others; a failure of the whole call (e.g. 503) stored nothing.`,
  request: {
    params: RoomParams,
    body: jsonContent(
      z
        .object({ messages: z.array(InternalPostSchema).min(1).max(MESSAGE_BATCH_MAX) })
        .strict()
        .openapi("InternalMessageBatchBody"),
    ),
  },
  responses: {
    200: jsonResponse("One result per message, in order", MessageBatchReplySchema),
    ...errorResponses(400, 401),
  },
});
const history = route({
  method: "get",
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  middleware,
  summary: "History for sync",
  description: "404 when the room is gone or `userId` may no longer see it.",
  request: { params: RoomParams, query: HistoryQuerySchema.extend(ForUser.shape) },
  responses: { 200: jsonResponse("A page", MessageHistorySchema), ...errorResponses(400, 401, 404) },
});
const state = route({
  method: "get",
  path: "/rooms/{roomId}/state",
  tags,
  security,
  middleware,
  summary: "A room's last seq",
  description: "404 when the room is gone or `userId` may no longer see it.",
  request: { params: RoomParams, query: ForUser },
  responses: {
    200: jsonResponse("State", RoomStateSchema),
    ...errorResponses(400, 401, 404),
  },
});
const access = route({
  method: "post",
  path: "/rooms/{roomId}/access",
  tags,
  security,
  middleware,
  summary: "Which of these connected users may no longer see the room",
  description: `Same rule as REST (roomAccess). At most ${ACCESS_CHECK_MAX_USERS} users per call. A deleted room answers \`roomDeleted: true\`.`,
  request: { params: RoomParams, body: jsonContent(AccessCheckBodySchema) },
  responses: {
    200: jsonResponse("The users who lost access", AccessCheckSchema),
    ...errorResponses(400, 401),
  },
});
const check = route({
  method: "post",
  path: "/sessions/check",
  tags,
  security,
  middleware,
  summary: "Which of these sessions are no longer valid",
  description: `At most ${SESSION_CHECK_MAX_IDS} ids per call (more is 400): a party with more open sessions asks in pages, and reads a refused or failed page as "not verified", never as "none revoked".`,
  request: { body: jsonContent(SessionCheckBodySchema) },
  responses: {
    200: jsonResponse("The revoked, expired or unknown ones", SessionCheckSchema),
    ...errorResponses(400, 401),
  },
});

export const internalRoutes = createRouter()
  .openapi(post, async (c) => {
    const ctx = svc(c);
    const { authorId, ...input } = c.req.valid("json");
    // Re-checked on every write: the author may have lost access since the socket opened.
    const access = await roomAccess(ctx, c.req.valid("param").roomId, authorId);
    const { message, created } = await messagesService.postMessage(ctx, access, authorId, input);
    return created ? c.json({ message }, 201) : c.json({ message }, 200);
  })
  .openapi(batch, async (c) => {
    const { messages } = c.req.valid("json");
    // The budget is settled first, per message: a refused one is answered alone (429 + retryAfter).
    const waits = await consumeApiBudget(
      c,
      messages.map((m) => m.authorId),
    );
    const admitted = messages.filter((_, i) => waits[i] === undefined);
    const outcomes = await postMessageBatch(svc(c), c.req.valid("param").roomId, admitted);
    let next = 0;
    const results = waits.map((wait) =>
      wait === undefined
        ? batchResult(outcomes[next++]!)
        : { status: 429, problem: { code: "rate_limited", detail: "Too many requests." }, retryAfter: wait },
    );
    return c.json({ results }, 200);
  })
  .openapi(history, async (c) => {
    const ctx = svc(c);
    const { roomId } = c.req.valid("param");
    const { userId, afterSeq, beforeSeq, limit = 100 } = c.req.valid("query");
    await roomAccess(ctx, roomId, userId); // 404: gone, or no longer visible to this user
    return c.json(await messagesService.listMessages(ctx, roomId, { afterSeq, beforeSeq, limit }), 200);
  })
  .openapi(state, async (c) => {
    const { room } = await roomAccess(svc(c), c.req.valid("param").roomId, c.req.valid("query").userId);
    return c.json({ lastSeq: room.lastSeq }, 200);
  })
  .openapi(access, async (c) => {
    const { roomId } = c.req.valid("param");
    return c.json(await usersDeniedRoom(svc(c), roomId, c.req.valid("json").userIds), 200);
  })
  .openapi(check, async (c) => {
    const revoked = await sessionsNoLongerValid(svc(c).db, c.req.valid("json").sessionIds);
    return c.json({ revoked }, 200);
  });

function batchResult(outcome: BatchOutcome) {
  if (outcome.ok) return { status: outcome.created ? 201 : 200, message: outcome.message } as const;
  const { status, code, detail } = outcome.error;
  return { status, problem: { code, ...(detail !== undefined ? { detail } : {}) } };
}
