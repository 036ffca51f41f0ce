import { z } from "@hono/zod-openapi";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { rooms, sessions } from "../../db/schema.ts";
import { svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  MESSAGE_BODY_LIMIT,
  route,
} from "../../http/openapi.ts";
import { ApiError } from "../../lib/errors.ts";
import { IdSchema, nowIso } from "../../lib/ids.ts";
import { requireService } from "../../middleware/service-auth.ts";
import * as messagesService from "../../services/rooms/messages.ts";
import { roomAccess } from "../../services/rooms/rooms.ts";
import {
  RoomStateSchema,
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

const post = route({
  method: "post",
  bodyLimit: MESSAGE_BODY_LIMIT,
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  middleware,
  summary: "Persist a socket message (same path as REST)",
  request: {
    params: RoomParams,
    body: jsonContent(
      PostMessageSchema.extend({ authorId: IdSchema }).strict().openapi("InternalPostMessageBody"),
    ),
  },
  responses: {
    201: jsonResponse("Created", StoredMessageSchema),
    200: jsonResponse("Already stored under this clientId", StoredMessageSchema),
    ...errorResponses(400, 401, 404, 409),
  },
});
const history = route({
  method: "get",
  path: "/rooms/{roomId}/messages",
  tags,
  security,
  middleware,
  summary: "History for sync",
  request: { params: RoomParams, query: HistoryQuerySchema },
  responses: { 200: jsonResponse("A page", MessageHistorySchema), ...errorResponses(400, 401, 404) },
});
const state = route({
  method: "get",
  path: "/rooms/{roomId}/state",
  tags,
  security,
  middleware,
  summary: "A room's last seq",
  request: { params: RoomParams },
  responses: {
    200: jsonResponse("State", RoomStateSchema),
    ...errorResponses(400, 401, 404),
  },
});
const check = route({
  method: "post",
  path: "/sessions/check",
  tags,
  security,
  middleware,
  summary: "Which of these sessions are no longer valid",
  request: { body: jsonContent(SessionCheckBodySchema) },
  responses: {
    200: jsonResponse("The revoked, expired or unknown ones", SessionCheckSchema),
    ...errorResponses(400, 401),
  },
});

async function lastSeqOf(ctx: ReturnType<typeof svc>, roomId: string): Promise<number> {
  const [row] = await ctx.db.select({ lastSeq: rooms.lastSeq }).from(rooms).where(eq(rooms.id, roomId));
  if (!row) throw new ApiError("not_found", "No such room.");
  return row.lastSeq;
}

export const internalRoutes = createRouter()
  .openapi(post, async (c) => {
    const ctx = svc(c);
    const { authorId, ...input } = c.req.valid("json");
    // Re-checked on every write: the author may have lost access since the socket opened.
    const access = await roomAccess(ctx, c.req.valid("param").roomId, authorId);
    const { message, created } = await messagesService.postMessage(ctx, access, authorId, input);
    return created ? c.json({ message }, 201) : c.json({ message }, 200);
  })
  .openapi(history, async (c) => {
    const ctx = svc(c);
    const { roomId } = c.req.valid("param");
    await lastSeqOf(ctx, roomId); // 404 for an unknown room
    const { afterSeq, beforeSeq, limit = 100 } = c.req.valid("query");
    return c.json(await messagesService.listMessages(ctx, roomId, { afterSeq, beforeSeq, limit }), 200);
  })
  .openapi(state, async (c) => c.json({ lastSeq: await lastSeqOf(svc(c), c.req.valid("param").roomId) }, 200))
  .openapi(check, async (c) => {
    const ids = c.req.valid("json").sessionIds;
    if (ids.length === 0) return c.json({ revoked: [] }, 200);
    const live = await svc(c)
      .db.select({ id: sessions.id, expiresAt: sessions.expiresAt })
      .from(sessions)
      .where(and(inArray(sessions.id, ids), isNull(sessions.revokedAt)));
    const now = nowIso();
    const valid = new Set(live.filter((s) => s.expiresAt > now).map((s) => s.id));
    return c.json({ revoked: ids.filter((id) => !valid.has(id)) }, 200);
  });
