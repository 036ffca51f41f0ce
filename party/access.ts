import type * as Party from "partykit/server";
import {
  ACCESS_CHECK_MAX_USERS,
  AccessCheckSchema,
  RoomStateSchema,
} from "../src/shared/internal-api.schema.ts";
import { CLOSE } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { closeAll } from "./guards.ts";
import { partyLog } from "./observability.ts";
import { callApi } from "./transport.ts";

/**
 * Re-check the room access of everyone connected (on a `recheck` push, and periodically in case
 * one was missed): POST /v1/internal/rooms/:id/access with the connected user ids, in pages.
 * Those the API says lost access are closed with 4000; a deleted room closes everyone (4003).
 * An unreachable API or a malformed reply closes nothing: the next round asks again.
 */
export async function recheckAccess(room: Party.Room, roomId: string): Promise<void> {
  // Only sockets open now: one that opens meanwhile came with a fresh ticket.
  const conns = [...room.getConnections<ConnState>()];
  const users = [...new Set(conns.map((c) => c.state?.userId).filter((u): u is string => Boolean(u)))];
  for (let i = 0; i < users.length; i += ACCESS_CHECK_MAX_USERS) {
    const userIds = users.slice(i, i + ACCESS_CHECK_MAX_USERS);
    const res = await callApi(room.env, `/v1/internal/rooms/${roomId}/access`, {
      method: "POST",
      body: { userIds },
    }).catch(() => undefined);
    if (res?.status !== 200) return;
    const parsed = AccessCheckSchema.safeParse(res.body);
    if (!parsed.success) return partyLog.warn("malformed API reply", { room: roomId, route: "access" });
    if (parsed.data.roomDeleted) return closeAll(room, CLOSE.roomDeleted, "room deleted");
    const denied = new Set(parsed.data.denied);
    for (const c of conns)
      if (c.state && denied.has(c.state.userId)) c.close(CLOSE.accessLost, "access lost");
  }
}

/**
 * The room's last seq as the API knows it, read for a connecting user: "denied" when that user
 * may no longer see the room (404), undefined when the API gave no usable answer.
 */
export async function roomLastSeq(
  env: Record<string, unknown>,
  roomId: string,
  userId: string,
): Promise<number | "denied" | undefined> {
  const res = await callApi(env, `/v1/internal/rooms/${roomId}/state?userId=${userId}`).catch(
    () => undefined,
  );
  if (res?.status === 404) return "denied";
  if (res?.status !== 200) return undefined;
  const parsed = RoomStateSchema.safeParse(res.body);
  if (parsed.success) return parsed.data.lastSeq;
  partyLog.warn("malformed API reply", { party: "chat", room: roomId, route: "state" });
  return undefined;
}
