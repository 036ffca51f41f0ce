/**
 * A typed realtime client for Petrel rooms, over partysocket. It fetches a fresh ticket on every
 * (re)connect and, after each connect, asks the room for everything after the last seq it has
 * seen, so new messages reach `onMessage` exactly once, in seq order, with no gap — however often
 * the socket drops. Edits and deletions (same seq as the original) arrive through `onUpdate`.
 */
import PartySocket from "partysocket";
import type { Message } from "../src/shared/message.schema.ts";
import { CLOSE, type ServerFrame, ServerFrameSchema } from "../src/shared/realtime.ts";

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
  onTyping?: (userId: string) => void;
  onState?: (state: ConnectionState) => void;
  /** Error frames from the server, and frames from it that were malformed (never acted on). */
  onError?: (error: FrameError) => void;
}

export interface Ticket {
  url: string;
  host: string;
  party: string;
  room: string;
  ticket: string;
  expiresAt: string;
}

export async function requestTicket(
  opts: Pick<RoomClientOptions, "apiUrl" | "accessToken" | "fetch">,
  channel: string,
): Promise<Ticket> {
  const res = await (opts.fetch ?? fetch)(`${opts.apiUrl}/v1/realtime/tickets`, {
    method: "POST",
    headers: { authorization: `Bearer ${await opts.accessToken()}`, "content-type": "application/json" },
    body: JSON.stringify({ channel }),
  });
  if (!res.ok) throw new TicketError(res.status);
  return (await res.json()) as Ticket;
}

export class TicketError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`ticket request failed: ${status}`);
    this.status = status;
  }
}

export type FrameError = { code: string; message: string; requestId?: string };

/**
 * A server frame, checked against the protocol before anything acts on it. Malformed JSON and
 * frames that do not match come back as an error with the party's own codes for the same faults.
 */
export function parseServerFrame(raw: string): { frame: ServerFrame } | { error: FrameError } {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { error: { code: "malformed_frame", message: "The server sent a frame that is not JSON." } };
  }
  const parsed = ServerFrameSchema.safeParse(data);
  if (parsed.success) return { frame: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.join(".") || "type";
  return { error: { code: "invalid_frame", message: `Invalid server frame: ${where}: ${issue?.message}` } };
}

interface Pending {
  resolve: (ack: { id: string; seq: number }) => void;
  reject: (err: Error) => void;
}

export class RoomClient {
  readonly socket: PartySocket;
  private lastSeq: number;
  private syncing = false;
  private buffered = new Map<number, Message>();
  private pending = new Map<string, Pending[]>();
  private readonly opts: RoomClientOptions;
  /** Presence as the server announced it: `welcome`'s full list, then `presence_diff`s. */
  private present = new Set<string>();
  /** Heartbeats renew the presence lease and read-ack the highest seq received (API.md v1.1). */
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private seenSeq = 0;
  private sinceAck = 0;
  private ackEvery = Number.POSITIVE_INFINITY;
  state: ConnectionState = "connecting";

  /** Connect to a room: the first ticket also tells where PartyKit is. */
  static async connect(opts: RoomClientOptions): Promise<RoomClient> {
    const first = await requestTicket(opts, `room:${opts.roomId}`);
    return new RoomClient(opts, first);
  }

  private constructor(opts: RoomClientOptions, first: Ticket) {
    this.opts = opts;
    this.lastSeq = opts.lastSeq ?? 0;
    let prefetched: Ticket | undefined = first;
    this.socket = new PartySocket({
      host: first.host,
      protocol: first.url.startsWith("wss:") ? "wss" : "ws",
      party: first.party,
      room: first.room,
      WebSocket: opts.WebSocket,
      maxRetries: Number.POSITIVE_INFINITY,
      minReconnectionDelay: 200,
      maxReconnectionDelay: 5000,
      // A deleted room (4003) is final. A socket closed for lost access (4000) reconnects with
      // a fresh ticket, whose 404 stops for good; one over the per-user cap (4002) retries with
      // partysocket's growing delay (its retry count only resets after a connection that lasted).
      shouldReconnectOnClose: (e) => e.code !== CLOSE.roomDeleted,
      // A fresh ticket for every (re)connect: tickets live ≤ 60 s and are bound to this channel.
      query: async () => {
        const t =
          prefetched ??
          (await requestTicket(opts, `room:${opts.roomId}`).catch((err: unknown) => {
            if (err instanceof TicketError && err.status === 404) this.close();
            throw err;
          }));
        prefetched = undefined;
        return { ticket: t.ticket };
      },
    });
    this.socket.addEventListener("message", (e) => this.onFrame(String(e.data)));
    this.socket.addEventListener("close", (e) => {
      clearInterval(this.heartbeat);
      if (e.code === CLOSE.roomDeleted) return this.close();
      this.setState(this.state === "closed" ? "closed" : "reconnecting");
    });
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
    }
  }

  private onFrame(raw: string) {
    const parsed = parseServerFrame(raw);
    if ("error" in parsed) return this.opts.onError?.(parsed.error);
    const { frame } = parsed;
    switch (frame.type) {
      case "welcome":
        this.present = new Set(frame.presence);
        this.opts.onPresence?.(frame.presence);
        this.startHeartbeat(frame.heartbeatSeconds ?? 15, frame.ackEvery);
        this.sync(); // catch up on every (re)connect
        break;
      case "history":
        for (const m of frame.messages) this.seen(m.seq);
        for (const m of frame.messages) this.deliver(m);
        if (frame.hasMore) this.sync();
        else {
          this.syncing = false;
          this.setState("live");
        }
        break;
      case "message":
        this.seen(frame.message.seq);
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
        this.present = new Set(frame.users);
        this.opts.onPresence?.(frame.users);
        break;
      case "presence_diff":
        for (const u of frame.joined) this.present.add(u);
        for (const u of frame.left) this.present.delete(u);
        this.opts.onPresence?.([...this.present].sort());
        break;
      case "typing":
        this.opts.onTyping?.(frame.userId);
        break;
      case "error":
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
      waiting.push({ resolve: (ack) => resolve({ ...ack, clientId }), reject });
      this.pending.set(clientId, waiting);
      this.socket.send(JSON.stringify({ type: "message", clientId, body, attachments: opts.attachments }));
    });
  }

  private startHeartbeat(seconds: number, ackEvery: number | undefined) {
    clearInterval(this.heartbeat);
    this.ackEvery = ackEvery ?? Number.POSITIVE_INFINITY;
    this.heartbeat = setInterval(() => this.beat(), seconds * 1000);
  }

  /** A message frame was read: ack after every `ackEvery` of them, between the timed beats. */
  private seen(seq: number) {
    this.seenSeq = Math.max(this.seenSeq, seq);
    if (++this.sinceAck >= this.ackEvery) this.beat();
  }

  private beat() {
    this.sinceAck = 0;
    this.socket.send(JSON.stringify({ type: "heartbeat", seq: this.seenSeq }));
  }

  typing() {
    this.socket.send(JSON.stringify({ type: "typing" }));
  }

  close() {
    clearInterval(this.heartbeat);
    this.setState("closed");
    for (const list of this.pending.values()) for (const p of list) p.reject(new Error("closed"));
    this.pending.clear();
    this.socket.close();
  }
}
