import type * as Party from "partykit/server";
import { CLOSE, MAX_FRAME_BYTES } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { envOf } from "./env.ts";

/**
 * Per-connection guard: frames over 16 KiB close the socket with 1009, more than N frames in a
 * second (MAX_FRAMES_PER_SECOND, default 40) with 1008. The window lives in the connection's
 * state, so it survives hibernation. Returns false when the socket was closed.
 */
export function admitFrame(
  conn: Party.Connection<ConnState>,
  message: string | ArrayBuffer | ArrayBufferView,
  env: Record<string, unknown>,
): boolean {
  const size = typeof message === "string" ? new TextEncoder().encode(message).length : message.byteLength;
  if (size > MAX_FRAME_BYTES) {
    conn.close(1009, "frame too large");
    return false;
  }
  const s = conn.state;
  if (!s) return true;
  const now = Date.now();
  const fresh = s.win === undefined || now - s.win >= 1000;
  const hits = fresh ? 1 : (s.hits ?? 0) + 1;
  if (hits > envOf(env).MAX_FRAMES_PER_SECOND) {
    conn.close(1008, "too many frames");
    return false;
  }
  conn.setState({ ...s, win: fresh ? now : s.win, hits });
  return true;
}

/**
 * Sockets per user per room are capped (MAX_SOCKETS_PER_USER): a new socket beyond the cap is
 * closed with 4002 before it is welcomed. Call right after setState. False when it was closed.
 * Sockets are tagged with their user (auth.ts userTag), so this counts only that user's.
 */
export function admitSocket(room: Party.Room, conn: Party.Connection<ConnState>): boolean {
  const userId = conn.state?.userId;
  if (!userId) return true;
  let open = 0;
  for (const _ of room.getConnections(userId)) open++;
  if (open <= envOf(room.env).MAX_SOCKETS_PER_USER) return true;
  conn.close(CLOSE.tooManySockets, "too many sockets for this user");
  return false;
}

/** Close every socket of the room (e.g. 4003: the room was deleted). */
export function closeAll(room: Party.Room, code: number, reason: string) {
  for (const c of room.getConnections()) c.close(code, reason);
}

/** A `disconnect` push: close the sockets of these users or sessions in this room. */
export function closeMatching(
  room: Party.Room,
  push: { userIds?: string[]; sessionIds?: string[]; reason: string },
) {
  for (const c of room.getConnections<ConnState>()) {
    const s = c.state;
    if (s && (push.userIds?.includes(s.userId) || push.sessionIds?.includes(s.sessionId)))
      c.close(1008, push.reason);
  }
}
