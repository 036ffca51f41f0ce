import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { ID_PATTERN } from "../lib/ids.ts";
import { loadMessage, type MessageRow } from "../services/rooms/messages.ts";
import { type RoomGrant, roomGrant } from "../services/rooms/room-grant.ts";
import { type RoomAccess, roomAccess } from "../services/rooms/rooms.ts";

const invalidId = (param: string) =>
  new ApiError("validation_failed", "The request is invalid.", {
    errors: [{ path: param, message: "must be a lower-case UUID" }],
  });

/**
 * Authorise a room-scoped route: the room of `:roomId` (or of the message `:messageId`) must be
 * visible to the caller (src/services/rooms/rooms.ts roomAccess: org membership, room
 * visibility, room membership), else 404 without revealing whether it exists. Put it after
 * requireAuth(); it sets `c.var.roomAccess` (and `c.var.message`) for the handler, which still
 * decides finer rights (manage, author).
 */
export function requireRoomAccess(via: "roomId" | "messageId" = "roomId") {
  return createMiddleware<AppEnv>(async function requireRoomAccess(c, next) {
    const auth = c.get("auth");
    if (!auth) throw new ApiError("unauthorized"); // fail closed when mounted without requireAuth()
    const id = c.req.param(via);
    if (!id || !ID_PATTERN.test(id)) throw invalidId(via);
    let roomId = id;
    if (via === "messageId") {
      const message = await loadMessage(c.get("ctx"), id);
      c.set("message", message);
      roomId = message.roomId;
    }
    c.set("roomAccess", await roomAccess(c.get("ctx"), roomId, auth.userId));
    await next();
  });
}

/**
 * requireRoomAccess() for routes that need no `lastSeq` (message history, posting): the grant
 * comes from the read cache (src/services/rooms/room-grant.ts), so a hot room costs no database
 * read to authorise. Sets `c.var.roomGrant`, read with grantOf(c).
 */
export function requireRoomGrant() {
  return createMiddleware<AppEnv>(async function requireRoomGrant(c, next) {
    const auth = c.get("auth");
    if (!auth) throw new ApiError("unauthorized"); // fail closed when mounted without requireAuth()
    const id = c.req.param("roomId");
    if (!id || !ID_PATTERN.test(id)) throw invalidId("roomId");
    c.set("roomGrant", await roomGrant(c.get("ctx"), id, auth.userId));
    await next();
  });
}

/** The grant requireRoomGrant() loaded; fails closed when the guard is missing. */
export function grantOf(c: Context<AppEnv>): RoomGrant {
  const grant = c.get("roomGrant");
  if (!grant) throw new Error("grantOf(): the route lacks requireRoomGrant()");
  return grant;
}

/** The access requireRoomAccess() loaded; fails closed when the guard is missing. */
export function roomOf(c: Context<AppEnv>): RoomAccess {
  const access = c.get("roomAccess");
  if (!access) throw new Error("roomOf(): the route lacks requireRoomAccess()");
  return access;
}

/** The message requireRoomAccess("messageId") loaded. */
export function messageOf(c: Context<AppEnv>): MessageRow {
  const message = c.get("message");
  if (!message) throw new Error('messageOf(): the route lacks requireRoomAccess("messageId")');
  return message;
}
