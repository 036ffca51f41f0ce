import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  MESSAGE_BODY_LIMIT,
  route,
} from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import {
  grantOf,
  messageOf,
  requireRoomAccess,
  requireRoomGrant,
  roomOf,
} from "../../middleware/room-access.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import { publishMessage } from "../../services/realtime/realtime-events.ts";
import * as messagesService from "../../services/rooms/messages.ts";
import { MessageHistorySchema, MessageSchema } from "../../shared/message.schema.ts";
import { EditMessageSchema, HistoryQuerySchema, PostMessageSchema } from "../rooms/rooms.schema.ts";

const tags = ["Messages"];
const security = [{ bearerAuth: [] }];
const middleware = [requireAuth()];
const RoomParams = z.object({ roomId: IdSchema });
const MessageParams = z.object({ messageId: IdSchema });

const history = route({
  method: "get",
  path: "/{roomId}/messages",
  tags,
  security,
  middleware: [apiLimit, ...middleware, requireRoomGrant()],
  summary: "Message history",
  description:
    "`items` always ascending by seq. No cursor: the latest `limit` (default 50). `afterSeq=X`: the first `limit` with seq > X. `beforeSeq=Y`: the `limit` just before Y. Both: the first `limit` in the open interval. `hasMore`: more exist in the direction paged.",
  request: { params: RoomParams, query: HistoryQuerySchema },
  responses: {
    200: jsonResponse("A page", MessageHistorySchema),
    ...notModified,
    ...errorResponses(400, 401, 404),
  },
});
const post = route({
  method: "post",
  bodyLimit: MESSAGE_BODY_LIMIT,
  path: "/{roomId}/messages",
  tags,
  security,
  middleware: [apiLimit, ...middleware, requireRoomGrant()],
  summary: "Post a message",
  description:
    "Idempotent by `clientId` (per room and author): the same clientId with the same body returns the original (200); with another body, 409. The message is broadcast to the room's realtime channel; `@handle` mentions notify.",
  request: { params: RoomParams, body: jsonContent(PostMessageSchema) },
  responses: {
    201: jsonResponse("Created", MessageSchema),
    200: jsonResponse("Already stored under this clientId", MessageSchema),
    ...errorResponses(400, 401, 404, 409),
  },
});
const edit = route({
  method: "patch",
  bodyLimit: MESSAGE_BODY_LIMIT,
  path: "/{messageId}",
  tags,
  security,
  middleware: [apiLimit, ...middleware, requireRoomAccess("messageId")],
  summary: "Edit my message",
  description: "Author only; a deleted message (tombstone) cannot be edited (409).",
  request: { params: MessageParams, body: jsonContent(EditMessageSchema) },
  responses: { 200: jsonResponse("Edited", MessageSchema), ...errorResponses(400, 401, 403, 404, 409) },
});
const remove = route({
  method: "delete",
  path: "/{messageId}",
  tags,
  security,
  middleware: [apiLimit, ...middleware, requireRoomAccess("messageId")],
  summary: "Delete a message",
  description:
    "Author or org admin+. Leaves a tombstone (same id and seq, empty body and attachments, deletedAt set).",
  request: { params: MessageParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});

/** Mounted at /v1/rooms. */
export const roomMessageRoutes = createRouter()
  .openapi(history, async (c) => {
    const ctx = svc(c);
    const access = grantOf(c);
    const { afterSeq, beforeSeq, limit = 50 } = c.req.valid("query");
    // The latest page (no cursor) is cached; access is still checked on every request above.
    if (afterSeq === undefined && beforeSeq === undefined) {
      return cachedJson(c, cacheKeys.latestMessages(c.get("config"), access.room.id, limit), () =>
        messagesService.listMessages(ctx, access.room.id, { limit }),
      );
    }
    return c.json(
      await messagesService.listMessages(ctx, access.room.id, { afterSeq, beforeSeq, limit }),
      200,
    );
  })
  .openapi(post, async (c) => {
    const ctx = svc(c);
    const me = caller(c);
    const access = grantOf(c);
    const { message, created } = await messagesService.postMessage(
      ctx,
      access,
      me.userId,
      c.req.valid("json"),
    );
    if (created) publishMessage(ctx, message);
    return created ? c.json(message, 201) : c.json(message, 200);
  });

/** Mounted at /v1/messages. */
export const messageRoutes = createRouter()
  .openapi(edit, async (c) => {
    const ctx = svc(c);
    const me = caller(c);
    const { body } = c.req.valid("json");
    const message = await messagesService.editMessage(
      ctx,
      messageOf(c),
      me.userId,
      body,
      roomOf(c).room.orgId,
    );
    publishMessage(ctx, message);
    return c.json(message, 200);
  })
  .openapi(remove, async (c) => {
    const ctx = svc(c);
    const me = caller(c);
    const message = await messagesService.deleteMessage(ctx, messageOf(c), roomOf(c), me.userId);
    publishMessage(ctx, message);
    return c.body(null, 204);
  });
