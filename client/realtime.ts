/**
 * A typed realtime client for Petrel rooms, over partysocket. It fetches a fresh ticket on every
 * (re)connect and, after each connect, asks the room for everything after the last seq it has
 * seen, so new messages reach `onMessage` exactly once, in seq order, with no gap — however often
 * the socket drops. Edits and deletions (same seq as the original) arrive through `onUpdate`.
 * Presence is applied from `welcome` (the full list) and `presence_diff` (API.md v1.1), or from
 * the older `presence {users}` frame. The lease is renewed with `heartbeat {seq}` every
 * `heartbeatSeconds` (default leaseSeconds / 3), and after every `ackEvery` messages: the seq is
 * the read-ack that keeps a reading client from being closed as a slow consumer (4001).
 * This is the low-level layer; most apps want `Room` (client/room.ts), which adds the outbox.
 */
import type PartySocket from "partysocket";
import type { Message } from "../src/shared/message.schema.ts";
import { CLOSE } from "../src/shared/realtime.ts";
import { DEFAULT_TYPING_TTL_MS, type FrameError, parseServerFrame, SendError } from "./frames.ts";
import { Heartbeat } from "./heartbeat.ts";
import { requestTicket, type Ticket, TicketError, ticketedSocket } from "./tickets.ts";

export * from "./frames.ts";
export { DEFAULT_LEASE_SECONDS } from "./heartbeat.ts";
export * from "./tickets.ts";

export type ConnectionState = "connecting" | "syncing" | "live" | "reconnecting" | "closed";

export interface RoomClientOptions {
  /** API base URL, e.g. https://api.example.com */
  apiUrl: string;
  /** The current access token (called before each ticket request). */
  accessToken: () => string | Promise<string>;
  roomId: string;
  /** Resume after this seq (e.g. kept in localStorage); default 0 = the whole history. */
  lastSeq?: number;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  onMessage?: (message: Message) => void;
  onUpdate?: (message: Message) => void;
  onPresence?: (users: string[]) => void;
  /** Someone is typing; show it for `ttlMs` unless renewed (default TYPING_TTL_MS). */
  onTyping?: (userId: string, ttlMs: number) => void;
  onState?: (state: ConnectionState) => void;
  /** Error frames from the server, and frames from it that were malformed (never acted on). */
  onError?: (error: FrameError) => void;
  /** Every close of the socket, with its code (see CLOSE_CODES), before any reconnect. */
  onClose?: (code: number, reason: string) => void;
  /** Heartbeats renew the presence lease; set false to never send them. */
  heartbeat?: boolean;
}

interface Pending {
  resolve: (ack: { id: string; seq: number }) => void;
  reject: (err: Error) => void;
  /** Written to an open socket (a close then loses its answer); else partysocket queued it. */
  written: boolean;
}

export class RoomClient {
  readonly socket: PartySocket;
  private lastSeq: number;
  private syncing = false;
  private buffered = new Map<number, Message>();
  private pending = new Map<string, Pending[]>();
  private readonly opts: RoomClientOptions;
  private present = new Set<string>();
  private readonly heartbeat: Heartbeat;
  state: ConnectionState = "connecting";
  /** When the last catch-up (`sync`) completed, if one did. */
  lastSyncAt: Date | undefined;

  /** Connect to a room: the first ticket also tells where PartyKit is. */
  static async connect(opts: RoomClientOptions): Promise<RoomClient> {
    const first = await requestTicket(opts, `room:${opts.roomId}`);
    return new RoomClient(opts, first);
  }

  private constructor(opts: RoomClientOptions, first: Ticket) {
    this.opts = opts;
    this.lastSeq = opts.lastSeq ?? 0;
    this.socket = ticketedSocket(
      first,
      () =>
        requestTicket(opts, `room:${opts.roomId}`).catch((err: unknown) => {
          if (err instanceof TicketError && err.status === 404) this.close();
          throw err;
        }),
      {
        WebSocket: opts.WebSocket,
        minReconnectionDelay: 200,
        maxReconnectionDelay: 5000,
        // A deleted room (4003) is final. A socket closed for lost access (4000) reconnects with
        // a fresh ticket, whose 404 stops for good; one over the per-user cap (4002) retries with
        // partysocket's growing delay (its retry count only resets after a connection that lasted).
        shouldReconnectOnClose: (e) => e.code !== CLOSE.roomDeleted,
      },
    );
    this.heartbeat = new Heartbeat(this.socket, () => this.lastSeq);
    this.socket.addEventListener("message", (e) => this.onFrame(String(e.data)));
    // A connection that fails before it opens (server down, no network) is a reconnect too.
    this.socket.addEventListener("error", () => {
      if (this.state === "connecting") this.setState("reconnecting");
    });
    this.socket.addEventListener("close", (e) => {
      this.heartbeat.stop();
      for (const [clientId, list] of this.pending) {
        const lost = list.filter((p) => p.written);
        if (lost.length === 0) continue;
        const err = new SendError(clientId, { code: "disconnected", message: `socket closed (${e.code})` });
        for (const p of lost) p.reject(err);
        const rest = list.filter((p) => !p.written);
        if (rest.length) this.pending.set(clientId, rest);
        else this.pending.delete(clientId);
      }
      this.opts.onClose?.(e.code, e.reason);
      if (e.code === CLOSE.roomDeleted) return this.close();
      this.setState(this.state === "closed" ? "closed" : "reconnecting");
    });
  }

  /** Users present now (one entry per user), sorted. */
  get presence(): string[] {
    return [...this.present].sort();
  }

  private setPresence(users: Iterable<string>) {
    this.present = new Set(users);
    this.opts.onPresence?.(this.presence);
  }

  /** The highest seq delivered so far: persist it to resume after a reload. */
  get seq(): number {
    return this.lastSeq;
  }

  private setState(state: ConnectionState) {
    if (this.state === state) return;
    this.state = state;
    this.opts.onState?.(state);
  }

  private sync() {
    this.syncing = true;
    this.setState("syncing");
    this.socket.send(JSON.stringify({ type: "sync", afterSeq: this.lastSeq }));
  }

  /** Deliver new messages strictly in order; anything ahead of a gap waits in the buffer. */
  private deliver(m: Message) {
    if (m.seq <= this.lastSeq) {
      if (m.editedAt || m.deletedAt) this.opts.onUpdate?.(m);
      return;
    }
    this.buffered.set(m.seq, m);
    for (let next = this.buffered.get(this.lastSeq + 1); next; next = this.buffered.get(this.lastSeq + 1)) {
      this.buffered.delete(next.seq);
      this.lastSeq = next.seq;
      this.opts.onMessage?.(next);
      this.heartbeat.delivered();
    }
  }

  private onFrame(raw: string) {
    const parsed = parseServerFrame(raw);
    if ("error" in parsed) return this.opts.onError?.(parsed.error);
    const { frame } = parsed;
    switch (frame.type) {
      case "welcome":
        this.setPresence(frame.presence);
        this.sync(); // catch up on every (re)connect
        if (this.opts.heartbeat !== false) this.heartbeat.start(frame);
        break;
      case "history":
        for (const m of frame.messages) this.deliver(m);
        if (frame.hasMore) this.sync();
        else {
          this.syncing = false;
          this.lastSyncAt = new Date();
          this.setState("live");
        }
        break;
      case "message":
        this.deliver(frame.message);
        // A gap (seq beyond the next one) means a frame was missed: fetch what is missing.
        if (!this.syncing && this.buffered.size > 0) this.sync();
        break;
      case "ack":
        // Every send of this clientId (retries included) resolves with the one stored message.
        for (const p of this.pending.get(frame.clientId) ?? []) p.resolve({ id: frame.id, seq: frame.seq });
        this.pending.delete(frame.clientId);
        break;
      case "presence":
        this.setPresence(frame.users);
        break;
      case "presence_diff": {
        const next = new Set(this.present);
        for (const u of frame.left) next.delete(u);
        for (const u of frame.joined) next.add(u);
        this.setPresence(next);
        break;
      }
      case "typing":
        this.opts.onTyping?.(frame.userId, frame.ttlMs ?? DEFAULT_TYPING_TTL_MS);
        break;
      case "error":
        // A server from before presence leases refuses the heartbeat frame: stop sending it.
        if (this.heartbeat.refused(frame)) return;
        if (frame.clientId && this.pending.has(frame.clientId)) {
          const err = new SendError(frame.clientId, frame);
          for (const p of this.pending.get(frame.clientId) ?? []) p.reject(err);
          this.pending.delete(frame.clientId);
        }
        this.opts.onError?.(frame);
        if (frame.code === "dependency_unavailable" && this.syncing) {
          setTimeout(() => {
            if (this.state !== "closed") this.sync();
          }, 1000);
        }
        break;
    }
  }

  /** Send a message; resolves with its id and seq once the server has stored it (ack). */
  send(
    body: string,
    opts: { clientId?: string; attachments?: string[] } = {},
  ): Promise<{ id: string; seq: number; clientId: string }> {
    const clientId = opts.clientId ?? crypto.randomUUID();
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(clientId) ?? [];
      const written = this.socket.readyState === 1;
      waiting.push({ resolve: (ack) => resolve({ ...ack, clientId }), reject, written });
      this.pending.set(clientId, waiting);
      this.socket.send(JSON.stringify({ type: "message", clientId, body, attachments: opts.attachments }));
    });
  }

  typing() {
    this.socket.send(JSON.stringify({ type: "typing" }));
  }

  close() {
    this.heartbeat.stop();
    this.setState("closed");
    for (const list of this.pending.values()) for (const p of list) p.reject(new Error("closed"));
    this.pending.clear();
    this.socket.close();
  }
}
