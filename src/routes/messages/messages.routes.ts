import { createRoute, z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses } from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import * as messagesService from "../../services/rooms/messages.ts";
import { roomAccess } from "../../services/rooms/rooms.ts";
import { MessageHistorySchema, MessageSchema } from "../../shared/message.schema.ts";
import { EditMessageSchema, HistoryQuerySchema, PostMessageSchema } from "../rooms/rooms.schema.ts";

const tags = ["Messages"];
const security = [{ bearerAuth: [] }];
const middleware = [requireAuth()];
const body = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});
const messageOk = (description: string) => ({
  description,
  content: { "application/json": { schema: MessageSchema } },
});
const RoomParams = z.object({ roomId: IdSchema });
const MessageParams = z.object({ messageId: IdSchema });

const history = createRoute({
  method: "get",
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  middleware,
  summary: "Message history",
  description:
    "`items` always ascending by seq. No cursor: the latest `limit` (default 50). `afterSeq=X`: the first `limit` with seq > X. `beforeSeq=Y`: the `limit` just before Y. Both: the first `limit` in the open interval. `hasMore`: more exist in the direction paged.",
  request: { params: RoomParams, query: HistoryQuerySchema },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: MessageHistorySchema } } },
    ...notModified,
    ...errorResponses(400, 401, 404),
  },
});
const post = createRoute({
  method: "post",
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  middleware,
  summary: "Post a message",
  description:
    "Idempotent by `clientId` (per room and author): the same clientId with the same body returns the original (200); with another body, 409. The message is broadcast to the room's realtime channel; `@handle` mentions notify.",
  request: { params: RoomParams, body: body(PostMessageSchema) },
  responses: {
    201: messageOk("Created"),
    200: messageOk("Already stored under this clientId"),
    ...errorResponses(400, 401, 404, 409),
  },
});
const edit = createRoute({
  method: "patch",
  path: "/messages/{messageId}",
  tags,
  security,
  middleware,
  summary: "Edit my message",
  description: "Author only; a deleted message (tombstone) cannot be edited (409).",
  request: { params: MessageParams, body: body(EditMessageSchema) },
  responses: { 200: messageOk("Edited"), ...errorResponses(400, 401, 403, 404, 409) },
});
const remove = createRoute({
  method: "delete",
  path: "/messages/{messageId}",
  tags,
  security,
  middleware,
  summary: "Delete a message",
  description:
    "Author or org admin+. Leaves a tombstone (same id and seq, empty body and attachments, deletedAt set).",
  request: { params: MessageParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});

export const messageRoutes = createRouter()
  .openapi(history, async (c) => {
    const ctx = svc(c);
    const access = await roomAccess(ctx, c.req.valid("param").roomId, caller(c).userId);
    const { afterSeq, beforeSeq, limit = 50 } = c.req.valid("query");
    // The latest page (no cursor) is cached; access is still checked on every request above.
    if (afterSeq === undefined && beforeSeq === undefined) {
      return cachedJson(c, cacheKeys.latestMessages(c.var.config, access.room.id, limit), () =>
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
    const access = await roomAccess(ctx, c.req.valid("param").roomId, me.userId);
    const { message, created } = await messagesService.postMessage(
      ctx,
      access,
      me.userId,
      c.req.valid("json"),
    );
    if (created) messagesService.publishMessage(ctx, message);
    return created ? c.json(message, 201) : c.json(message, 200);
  })
  .openapi(edit, async (c) => {
    const ctx = svc(c);
    const me = caller(c);
    const { message: m } = await messagesService.messageWithAccess(
      ctx,
      c.req.valid("param").messageId,
      (roomId) => roomAccess(ctx, roomId, me.userId),
    );
    const message = await messagesService.editMessage(ctx, m, me.userId, c.req.valid("json").body);
    messagesService.publishMessage(ctx, message);
    return c.json(message, 200);
  })
  .openapi(remove, async (c) => {
    const ctx = svc(c);
    const me = caller(c);
    const { message: m, access } = await messagesService.messageWithAccess(
      ctx,
      c.req.valid("param").messageId,
      (roomId) => roomAccess(ctx, roomId, me.userId),
    );
    const message = await messagesService.deleteMessage(ctx, m, access, me.userId);
    messagesService.publishMessage(ctx, message);
    return c.body(null, 204);
  });
