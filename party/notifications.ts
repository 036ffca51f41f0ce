import type * as Party from "partykit/server";
import { PushSchema } from "../src/shared/realtime.ts";
import { admitWithTicket, type ConnState, checkServiceRequest, identityOf } from "./auth.ts";
import { admitSocket, closeMatching, FrameGuard, RevocationWatch } from "./guards.ts";
import { reportPartyError, requestIdOf } from "./observability.ts";
import { json, send } from "./transport.ts";

/** Notifications party: one room per user (room id = user id); only that user may connect. */
export default class NotificationsServer implements Party.Server {
  static onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    return admitWithTicket(req, lobby, (userId) => `user:${userId}`);
  }
  static onBeforeRequest(req: Party.Request, lobby: Party.Lobby) {
    return checkServiceRequest(req, lobby);
  }

  readonly room: Party.Room;
  private readonly guard: FrameGuard;
  private readonly revocations: RevocationWatch;

  constructor(room: Party.Room) {
    this.room = room;
    this.guard = new FrameGuard(room.env);
    this.revocations = new RevocationWatch(room);
  }

  onConnect(conn: Party.Connection<ConnState>, ctx: Party.ConnectionContext) {
    const identity = identityOf(ctx);
    conn.setState(identity);
    if (!admitSocket(this.room, conn)) return;
    send(conn, { type: "welcome", userId: identity.userId, presence: [identity.userId], lastSeq: 0 });
    this.revocations.start();
  }

  onMessage(raw: string | ArrayBuffer | ArrayBufferView, conn: Party.Connection<ConnState>) {
    if (!this.guard.admit(conn, raw)) return;
    send(conn, { type: "error", code: "read_only", message: "The notifications channel only sends." });
  }

  onClose(conn: Party.Connection) {
    this.guard.forget(conn);
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
      await reportPartyError(this.room.env, err, { party: "notifications", room: this.room.id, requestId });
      return json({ error: "internal", requestId }, 500);
    }
  }
}
