import { createRoute, z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, pageOf } from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { PageQuerySchema } from "../../lib/pagination.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import * as roomsService from "../../services/rooms/rooms.ts";
import { CHAT_PARTY } from "../../shared/realtime.ts";
import {
  AddRoomMemberSchema,
  CreateRoomSchema,
  PatchRoomSchema,
  ReadSchema,
  RoomSchema,
} from "./rooms.schema.ts";

const tags = ["Rooms"];
const security = [{ bearerAuth: [] }];
const body = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});
const roomOk = (description: string) => ({
  description,
  content: { "application/json": { schema: RoomSchema } },
});
const OrgParams = z.object({ orgId: IdSchema });
const RoomParams = z.object({ roomId: IdSchema });
const MemberParams = z.object({ roomId: IdSchema, userId: IdSchema });

const createRoom = createRoute({
  method: "post",
  path: "/orgs/{orgId}/rooms",
  tags,
  security,
  middleware: [requireAuth(), requireOrgPermission("rooms.create")],
  summary: "Create a room",
  description: "Members and above; guests get 403. The creator becomes a room member.",
  request: { params: OrgParams, body: body(CreateRoomSchema) },
  responses: { 201: roomOk("Created"), ...errorResponses(400, 401, 403, 404) },
});
const listRooms = createRoute({
  method: "get",
  path: "/orgs/{orgId}/rooms",
  tags,
  security,
  middleware: [requireAuth(), requireOrgPermission("org.read")],
  summary: "Rooms I can see in an org",
  description:
    "Public rooms for members, private rooms I belong to (all rooms for org admins); guests see only rooms they were added to. Each with lastSeq and unreadCount.",
  request: { params: OrgParams, query: PageQuerySchema },
  responses: {
    200: {
      description: "By id",
      content: { "application/json": { schema: pageOf(RoomSchema, "RoomPage") } },
    },
    ...notModified,
    ...errorResponses(400, 401, 404),
  },
});
const getRoom = createRoute({
  method: "get",
  path: "/rooms/{roomId}",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "A room",
  request: { params: RoomParams },
  responses: { 200: roomOk("The room"), ...errorResponses(400, 401, 404) },
});
const patchRoom = createRoute({
  method: "patch",
  path: "/rooms/{roomId}",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Rename a room or change its visibility",
  description: "The room's creator or an org admin.",
  request: { params: RoomParams, body: body(PatchRoomSchema) },
  responses: { 200: roomOk("Updated"), ...errorResponses(400, 401, 403, 404) },
});
const deleteRoom = createRoute({
  method: "delete",
  path: "/rooms/{roomId}",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Delete a room and its messages",
  description: "The room's creator or an org admin.",
  request: { params: RoomParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});
const addMember = createRoute({
  method: "post",
  path: "/rooms/{roomId}/members",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Add an org member to the room",
  description: "For private rooms, and guests in any room. The room's creator or an org admin.",
  request: { params: RoomParams, body: body(AddRoomMemberSchema) },
  responses: { 204: { description: "Added (idempotent)" }, ...errorResponses(400, 401, 403, 404) },
});
const removeMember = createRoute({
  method: "delete",
  path: "/rooms/{roomId}/members/{userId}",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Remove someone from the room (or leave it)",
  description: "Their open sockets in the room are closed within seconds.",
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...errorResponses(400, 401, 403, 404) },
});
const markRead = createRoute({
  method: "post",
  path: "/rooms/{roomId}/read",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Set my read position",
  description: "Never moves backwards.",
  request: { params: RoomParams, body: body(ReadSchema) },
  responses: { 204: { description: "Saved" }, ...errorResponses(400, 401, 404) },
});

export const roomRoutes = createRouter()
  .openapi(createRoom, async (c) => {
    const m = orgMember(c);
    return c.json(await roomsService.createRoom(svc(c), m.orgId, m.userId, m.role, c.req.valid("json")), 201);
  })
  .openapi(listRooms, async (c) => {
    const m = orgMember(c);
    const { limit = 50, cursor } = c.req.valid("query");
    // Cached per user, role and page; see src/services/cache-keys.ts for what invalidates it.
    return cachedJson(c, cacheKeys.rooms(c.var.config, { ...m, limit, cursor }), () =>
      roomsService.listRooms(svc(c), m.orgId, m.userId, m.role, limit, cursor),
    );
  })
  .openapi(getRoom, async (c) => {
    const access = await roomsService.roomAccess(svc(c), c.req.valid("param").roomId, caller(c).userId);
    return c.json(roomsService.toRoomView(access.room), 200);
  })
  .openapi(patchRoom, async (c) => {
    const ctx = svc(c);
    const access = await roomsService.roomAccess(ctx, c.req.valid("param").roomId, caller(c).userId);
    return c.json(await roomsService.updateRoom(ctx, access, c.req.valid("json")), 200);
  })
  .openapi(deleteRoom, async (c) => {
    const ctx = svc(c);
    const access = await roomsService.roomAccess(ctx, c.req.valid("param").roomId, caller(c).userId);
    await roomsService.deleteRoom(ctx, access);
    ctx.defer(
      ctx.realtime
        .publish(CHAT_PARTY, access.room.id, { type: "disconnect", reason: "room deleted" })
        .catch(() => {}),
    );
    return c.body(null, 204);
  })
  .openapi(addMember, async (c) => {
    const ctx = svc(c);
    const access = await roomsService.roomAccess(ctx, c.req.valid("param").roomId, caller(c).userId);
    await roomsService.addRoomMember(ctx, access, caller(c).userId, c.req.valid("json").userId);
    return c.body(null, 204);
  })
  .openapi(removeMember, async (c) => {
    const ctx = svc(c);
    const { roomId, userId } = c.req.valid("param");
    const access = await roomsService.roomAccess(ctx, roomId, caller(c).userId);
    await roomsService.removeRoomMember(ctx, access, caller(c).userId, userId);
    // Close their sockets unless they can still see the room (e.g. a public room member).
    const still = await roomsService.roomAccess(ctx, roomId, userId).then(
      () => true,
      () => false,
    );
    if (!still) {
      ctx.defer(
        ctx.realtime
          .publish(
            CHAT_PARTY,
            roomId,
            { type: "disconnect", userIds: [userId], reason: "removed from the room" },
            ctx.meta.requestId,
          )
          .catch((err) => ctx.log.warn("disconnect push failed", { error: String(err) })),
      );
    }
    return c.body(null, 204);
  })
  .openapi(markRead, async (c) => {
    const ctx = svc(c);
    const access = await roomsService.roomAccess(ctx, c.req.valid("param").roomId, caller(c).userId);
    await roomsService.markRead(ctx, access, caller(c).userId, c.req.valid("json").seq);
    return c.body(null, 204);
  });
