import type * as Party from "partykit/server";
import { isServiceRequest, json } from "./service-auth.ts";

/**
 * Chat party: one PartyKit room per chat room. Skeleton: accepts connections and relays
 * service-authenticated API pushes; the full protocol arrives with the realtime work.
 */
export default class ChatServer implements Party.Server {
  readonly room: Party.Room;
  constructor(room: Party.Room) {
    this.room = room;
  }

  onConnect(conn: Party.Connection) {
    conn.send(JSON.stringify({ type: "welcome", room: this.room.id }));
  }

  async onRequest(req: Party.Request) {
    if (req.method === "GET") return json({ ok: true, room: this.room.id });
    if (req.method !== "POST") return json({ error: "method not allowed" }, 405);
    if (!isServiceRequest(req, this.room.env)) return json({ error: "unauthorized" }, 401);
    const body = await req.text();
    this.room.broadcast(body);
    return json({ ok: true });
  }
}
