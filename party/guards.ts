import type * as Party from "partykit/server";
import { SessionCheckSchema } from "../src/shared/internal-api.schema.ts";
import { CLOSE, MAX_FRAME_BYTES } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { envOf } from "./env.ts";
import { partyLog } from "./observability.ts";
import { callApi } from "./transport.ts";

/**
 * Per-connection guard: frames over 16 KiB close the socket with 1009, more than N frames in a
 * second (MAX_FRAMES_PER_SECOND, default 40) with 1008. Returns false when the socket was closed.
 */
export class FrameGuard {
  private windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;
  constructor(env: Record<string, unknown>) {
    this.max = envOf(env).MAX_FRAMES_PER_SECOND;
  }
  admit(conn: Party.Connection, message: string | ArrayBuffer | ArrayBufferView): boolean {
    const size = typeof message === "string" ? new TextEncoder().encode(message).length : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      conn.close(1009, "frame too large");
      return false;
    }
    const now = Date.now();
    const w = this.windows.get(conn.id);
    if (!w || now - w.start >= 1000) {
      this.windows.set(conn.id, { start: now, count: 1 });
      return true;
    }
    if (++w.count > this.max) {
      conn.close(1008, "too many frames");
      return false;
    }
    return true;
  }
  forget(conn: Party.Connection) {
    this.windows.delete(conn.id);
  }
}

/** A periodic task that rides on the watch's tick (no timer of its own), e.g. the access re-check. */
export interface Periodic {
  everyMs: number;
  run(): Promise<void>;
}

/**
 * Revoked sessions reach open sockets: while anyone is connected, ask the API every few seconds
 * which of the connected sessions were revoked, and close those sockets. The same tick runs
 * `periodic` every `periodic.everyMs`: one interval per room, stopped when the room is empty.
 */
export class RevocationWatch {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastPeriodic = 0;
  private readonly room: Party.Room;
  private readonly periodic: Periodic | undefined;
  private readonly intervalMs: number;
  constructor(room: Party.Room, periodic?: Periodic, intervalMs = 3000) {
    this.room = room;
    this.periodic = periodic;
    this.intervalMs = intervalMs;
  }
  start() {
    if (this.timer) return;
    this.lastPeriodic = Date.now();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  async check() {
    const conns = [...this.room.getConnections<ConnState>()];
    if (conns.length === 0) return this.stop();
    await this.checkSessions(conns);
    if (this.periodic && Date.now() - this.lastPeriodic >= this.periodic.everyMs) {
      this.lastPeriodic = Date.now();
      await this.periodic.run();
    }
  }
  private async checkSessions(conns: Party.Connection<ConnState>[]) {
    const sessionIds = [
      ...new Set(conns.map((c) => c.state?.sessionId).filter((s): s is string => Boolean(s))),
    ];
    try {
      const res = await callApi(this.room.env, "/v1/internal/sessions/check", {
        method: "POST",
        body: { sessionIds },
      });
      if (res.status !== 200) return;
      // A reply that does not parse closes nothing and is logged; the next tick asks again.
      const parsed = SessionCheckSchema.safeParse(res.body);
      if (!parsed.success) return partyLog.warn("malformed API reply", { route: "sessions/check" });
      const revoked = new Set(parsed.data.revoked);
      for (const c of conns) if (c.state && revoked.has(c.state.sessionId)) c.close(1008, "session revoked");
    } catch {
      // API unreachable: try again next tick
    }
  }
}

/**
 * Sockets per user per room are capped (MAX_SOCKETS_PER_USER): a new socket beyond the cap is
 * closed with 4002 before it is welcomed. Call right after setState. False when it was closed.
 */
export function admitSocket(room: Party.Room, conn: Party.Connection<ConnState>): boolean {
  const userId = conn.state?.userId;
  let open = 0;
  for (const c of room.getConnections<ConnState>()) if (c.state?.userId === userId) open++;
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
