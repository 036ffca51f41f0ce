import type * as Party from "partykit/server";
import { ClientFrameSchema, PushSchema } from "../src/shared/realtime.ts";
import { admitWithTicket, type ConnState, checkServiceRequest, identityOf, userTag } from "./auth.ts";
import { envOf } from "./env.ts";
import { admitFrame, admitSocket, closeMatching } from "./guards.ts";
import { reportPartyError, requestIdOf } from "./observability.ts";
import { RoomLife } from "./room-life.ts";
import { checkSessions } from "./sessions.ts";
import { json, send } from "./transport.ts";

/**
 * Notifications party: one room per user (room id = user id); only that user may connect. It
 * hibernates like the chat party: identity and flood window in connection state, the session
 * check on the room's alarm (room-life.ts).
 */
export default class NotificationsServer implements Party.Server {
  static onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    return admitWithTicket(req, lobby, (userId) => `user:${userId}`);
  }
  static onBeforeRequest(req: Party.Request, lobby: Party.Lobby) {
    return checkServiceRequest(req, lobby);
  }

  readonly options = { hibernate: true };
  readonly room: Party.Room;
  private readonly life: RoomLife<{ seq: number }>;

  constructor(room: Party.Room) {
    this.room = room;
    this.life = new RoomLife(room, { sessions: envOf(room.env).SESSION_CHECK_SECONDS * 1000 });
  }

  getConnectionTags(_conn: Party.Connection, ctx: Party.ConnectionContext) {
    return userTag(ctx);
  }

  async onStart() {
    await this.room.blockConcurrencyWhile(async () => {
      await this.life.store();
    });
  }

  async onConnect(conn: Party.Connection<ConnState>, ctx: Party.ConnectionContext) {
    const identity = identityOf(ctx);
    conn.setState({ ...identity, beatAt: Date.now() });
    if (!admitSocket(this.room, conn)) return;
    const { heartbeatSeconds, leaseSeconds } = await this.life.join(conn, true);
    send(conn, {
      type: "welcome",
      userId: identity.userId,
      presence: [identity.userId],
      lastSeq: 0,
      heartbeatSeconds,
      leaseSeconds,
    });
  }

  async onMessage(raw: string | ArrayBuffer | ArrayBufferView, conn: Party.Connection<ConnState>) {
    if (!admitFrame(conn, raw, this.room.env)) return;
    // Heartbeats are welcome (one client loop for both parties); anything else is refused.
    const text = typeof raw === "string" ? raw : "";
    const frame = ClientFrameSchema.safeParse(text.startsWith("{") ? safeJson(text) : null);
    if (frame.success && frame.data.type === "heartbeat") return;
    send(conn, { type: "error", code: "read_only", message: "The notifications channel only sends." });
  }

  onClose(conn: Party.Connection<ConnState>) {
    return this.life.left([conn]);
  }

  onAlarm() {
    return this.life.alarm({
      sweep: async () => undefined,
      access: async () => undefined,
      sessions: async () => checkSessions(this.room, await this.life.store()),
    });
  }

  async onRequest(req: Party.Request) {
    if (req.method === "GET") return json({ ok: true });
    const requestId = requestIdOf(req);
    try {
      const parsed = PushSchema.safeParse(await req.json().catch(() => null));
      if (!parsed.success) return json({ error: "invalid push", requestId }, 400);
      const push = parsed.data;
      if (push.type === "notification") {
        this.room.broadcast(JSON.stringify({ type: "notification", notification: push.notification }));
      }
      if (push.type === "disconnect") closeMatching(this.room, push);
      return json({ ok: true, requestId });
    } catch (err) {
      await reportPartyError(this.room.env, err, {
        party: "notifications",
        room: this.life.roomId,
        requestId,
      });
      return json({ error: "internal", requestId }, 500);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
