import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  pageOf,
  route,
} from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { PageQuerySchema } from "../../lib/pagination.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import { requireRoomAccess, roomOf } from "../../middleware/room-access.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import { publishRoomDeleted, recheckRoomAccess } from "../../services/realtime/realtime-events.ts";
import * as roomsService from "../../services/rooms/rooms.ts";
import {
  AddRoomMemberSchema,
  CreateRoomSchema,
  PatchRoomSchema,
  ReadSchema,
  RoomSchema,
} from "./rooms.schema.ts";

const tags = ["Rooms"];
const security = [{ bearerAuth: [] }];
const OrgParams = z.object({ orgId: IdSchema });
const RoomParams = z.object({ roomId: IdSchema });
const MemberParams = z.object({ roomId: IdSchema, userId: IdSchema });

const createRoom = route({
  method: "post",
  path: "/{orgId}/rooms",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("rooms.create")],
  summary: "Create a room",
  description: "Members and above; guests get 403. The creator becomes a room member.",
  request: { params: OrgParams, body: jsonContent(CreateRoomSchema) },
  responses: { 201: jsonResponse("Created", RoomSchema), ...errorResponses(400, 401, 403, 404) },
});
const listRooms = route({
  method: "get",
  path: "/{orgId}/rooms",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("org.read", { cached: true })],
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
const getRoom = route({
  method: "get",
  path: "/{roomId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "A room",
  request: { params: RoomParams },
  responses: { 200: jsonResponse("The room", RoomSchema), ...errorResponses(400, 401, 404) },
});
const patchRoom = route({
  method: "patch",
  path: "/{roomId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "Rename a room or change its visibility",
  description: "The room's creator or an org admin.",
  request: { params: RoomParams, body: jsonContent(PatchRoomSchema) },
  responses: { 200: jsonResponse("Updated", RoomSchema), ...errorResponses(400, 401, 403, 404) },
});
const deleteRoom = route({
  method: "delete",
  path: "/{roomId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "Delete a room and its messages",
  description: "The room's creator or an org admin.",
  request: { params: RoomParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});
const addMember = route({
  method: "post",
  path: "/{roomId}/members",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "Add an org member to the room",
  description: "For private rooms, and guests in any room. The room's creator or an org admin.",
  request: { params: RoomParams, body: jsonContent(AddRoomMemberSchema) },
  responses: { 204: { description: "Added (idempotent)" }, ...errorResponses(400, 401, 403, 404) },
});
const removeMember = route({
  method: "delete",
  path: "/{roomId}/members/{userId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "Remove someone from the room (or leave it)",
  description: "Their open sockets in the room are closed within seconds.",
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...errorResponses(400, 401, 403, 404) },
});
const markRead = route({
  method: "post",
  path: "/{roomId}/read",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireRoomAccess()],
  summary: "Set my read position",
  description: "Never moves backwards.",
  request: { params: RoomParams, body: jsonContent(ReadSchema) },
  responses: { 204: { description: "Saved" }, ...errorResponses(400, 401, 404) },
});

/** Mounted at /v1/orgs. */
export const orgRoomRoutes = createRouter()
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
  });

/** Mounted at /v1/rooms. */
export const roomRoutes = createRouter()
  .openapi(getRoom, async (c) => {
    return c.json(roomsService.toRoomView(roomOf(c).room), 200);
  })
  .openapi(patchRoom, async (c) => {
    const ctx = svc(c);
    const access = roomOf(c);
    return c.json(await roomsService.updateRoom(ctx, access, c.req.valid("json")), 200);
  })
  .openapi(deleteRoom, async (c) => {
    const ctx = svc(c);
    const access = roomOf(c);
    await roomsService.deleteRoom(ctx, access);
    publishRoomDeleted(ctx, access.room.id);
    return c.body(null, 204);
  })
  .openapi(addMember, async (c) => {
    const ctx = svc(c);
    const access = roomOf(c);
    await roomsService.addRoomMember(ctx, access, caller(c).userId, c.req.valid("json").userId);
    return c.body(null, 204);
  })
  .openapi(removeMember, async (c) => {
    const ctx = svc(c);
    const { roomId, userId } = c.req.valid("param");
    await roomsService.removeRoomMember(ctx, roomOf(c), caller(c).userId, userId);
    // The party closes their sockets unless they can still see the room (e.g. a public room).
    recheckRoomAccess(ctx, roomId);
    return c.body(null, 204);
  })
  .openapi(markRead, async (c) => {
    const ctx = svc(c);
    const access = roomOf(c);
    await roomsService.markRead(ctx, access, caller(c).userId, c.req.valid("json").seq);
    return c.body(null, 204);
  });
