/**
 * The user's own channel (the notifications party): `notification` frames pushed to this user
 * only. A fresh ticket on every (re)connect, heartbeats after the welcome (the party keeps a lease
 * on this socket too), and `onReconnect` after every reconnect so the app can reload what it may
 * have missed (the channel keeps no history).
 */
import type PartySocket from "partysocket";
import type { Notification } from "../src/shared/notification.schema.ts";
import { Heartbeat } from "./heartbeat.ts";
import {
  type FrameError,
  parseServerFrame,
  type RoomClientOptions,
  requestTicket,
  type Ticket,
  ticketedSocket,
} from "./realtime.ts";

export interface UserChannelOptions
  extends Pick<RoomClientOptions, "apiUrl" | "accessToken" | "fetch" | "WebSocket"> {
  onNotification: (n: Notification) => void;
  /** The socket opened again after a drop: reload the unread list. */
  onReconnect?: () => void;
  /** Malformed frames and error frames (never acted on). */
  onError?: (err: FrameError) => void;
}

export class UserChannel {
  readonly socket: PartySocket;
  private readonly heartbeat: Heartbeat;

  static async connect(opts: UserChannelOptions): Promise<UserChannel> {
    return new UserChannel(opts, await requestTicket(opts, "user"));
  }

  private constructor(opts: UserChannelOptions, first: Ticket) {
    let opened = 0;
    this.socket = ticketedSocket(first, () => requestTicket(opts, "user"), {
      WebSocket: opts.WebSocket,
      minReconnectionDelay: 500,
      maxReconnectionDelay: 10_000,
    });
    this.heartbeat = new Heartbeat(this.socket, () => undefined);
    this.socket.addEventListener("open", () => {
      if (opened++ > 0) opts.onReconnect?.();
    });
    this.socket.addEventListener("close", () => this.heartbeat.stop());
    this.socket.addEventListener("message", (e) => {
      const parsed = parseServerFrame(String(e.data));
      if ("error" in parsed) return opts.onError?.(parsed.error);
      const { frame } = parsed;
      if (frame.type === "welcome") this.heartbeat.start(frame);
      else if (frame.type === "notification") opts.onNotification(frame.notification);
      else if (frame.type === "error" && !this.heartbeat.refused(frame)) opts.onError?.(frame);
    });
  }

  close() {
    this.heartbeat.stop();
    this.socket.close();
  }
}
