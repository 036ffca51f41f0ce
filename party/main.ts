import type * as Party from "partykit/server";
import { json } from "./transport.ts";

/** The default party only answers health checks; clients use the `chat` and `notifications` parties. */
export default class MainServer implements Party.Server {
  readonly room: Party.Room;
  constructor(room: Party.Room) {
    this.room = room;
  }
  onRequest() {
    return json({ ok: true });
  }
  onConnect(conn: Party.Connection) {
    conn.close(1008, "use the chat or notifications party");
  }
}
