import type * as Party from "partykit/server";
import { isServiceRequest, json } from "./service-auth.ts";

/** Notifications party: one room per user. Skeleton until the realtime work adds tickets. */
export default class NotificationsServer implements Party.Server {
  readonly room: Party.Room;
  constructor(room: Party.Room) {
    this.room = room;
  }

  onConnect(conn: Party.Connection) {
    conn.send(JSON.stringify({ type: "welcome", room: this.room.id }));
  }

  async onRequest(req: Party.Request) {
    if (req.method === "GET") return json({ ok: true });
    if (req.method !== "POST") return json({ error: "method not allowed" }, 405);
    if (!isServiceRequest(req, this.room.env)) return json({ error: "unauthorized" }, 401);
    this.room.broadcast(await req.text());
    return json({ ok: true });
  }
}
