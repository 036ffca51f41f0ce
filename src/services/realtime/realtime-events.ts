import type { ServiceContext } from "../../context/service-context.ts";
import { errorFields } from "../../lib/log.ts";
import type { Message } from "../../shared/message.schema.ts";
import type { Notification } from "../../shared/notification.schema.ts";
import { CHAT_PARTY, USER_PARTY } from "../../shared/realtime.ts";

/**
 * Every push from the API into PartyKit. A push runs after the response (ctx.defer) and never
 * fails the write that caused it: a missed push is recovered by the parties (clients `sync`
 * after a reconnect, notifications stay in the list), so a failure is only logged.
 */
function push(
  ctx: Pick<ServiceContext, "defer" | "realtime" | "log" | "meta">,
  party: string,
  room: string,
  event: Record<string, unknown>,
  onFailure: { level: "error" | "warn"; msg: string; fields: Record<string, unknown> },
) {
  ctx.defer(
    ctx.realtime.publish(party, room, event, ctx.meta.requestId).catch((err) => {
      ctx.log[onFailure.level](onFailure.msg, { ...onFailure.fields, ...errorFields(err) });
    }),
  );
}

/** A new, edited or deleted message, to its room's members. */
export function publishMessage(ctx: ServiceContext, message: Message) {
  push(
    ctx,
    CHAT_PARTY,
    message.roomId,
    { type: "message", message },
    {
      level: "error",
      msg: "realtime publish failed; clients will catch up through sync",
      fields: { roomId: message.roomId, seq: message.seq },
    },
  );
}

/** A new notification, to its user's channel. */
export function publishNotification(ctx: ServiceContext, userId: string, notification: Notification) {
  push(
    ctx,
    USER_PARTY,
    userId,
    { type: "notification", notification },
    {
      level: "warn",
      msg: "notification push failed (it stays in the list)",
      fields: { userId },
    },
  );
}

/**
 * Who may see a room may have changed (visibility, org role, org or room membership): the party
 * asks the API which of its connected users lost access and closes their sockets (4000). One
 * mechanism for every cause; a missed push is caught by the party's periodic re-check.
 */
export function recheckRoomAccess(ctx: ServiceContext, roomId: string) {
  push(
    ctx,
    CHAT_PARTY,
    roomId,
    { type: "recheck" },
    {
      level: "warn",
      msg: "recheck push failed; the party's periodic re-check closes the sockets",
      fields: { roomId },
    },
  );
}

/** The room was deleted: every socket in it is closed (4003). */
export function publishRoomDeleted(ctx: ServiceContext, roomId: string) {
  push(
    ctx,
    CHAT_PARTY,
    roomId,
    { type: "room_deleted" },
    {
      level: "warn",
      msg: "room_deleted push failed; the party's periodic re-check closes the sockets",
      fields: { roomId },
    },
  );
}
