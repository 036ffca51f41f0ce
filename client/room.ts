/**
 * A room as an app uses it: messages in seq order exactly once, presence, typing, an honest
 * connection state, and a durable outbox that sends what was written offline, in order and once.
 *
 *   const room = await LiveRoom.open({ session, roomId, storage: indexedDbStorage() });
 *   room.on("message", render); room.on("status", showState); room.on("outbox", showPending);
 *   await room.send("hello");   // stored first, then sent when (and as soon as) the room is live
 *
 * Sending: one flusher per user and room at a time (Web Locks across tabs, see leader.ts) takes
 * the oldest queued entry, sends it over the socket and waits for its ack before the next, at most
 * one frame per `minIntervalMs`, so a long outbox stays under the party's frame limit (1008) and
 * paces itself against the per-user budget (`rate_limited` waits `retryAfter`). A refusal
 * (validation, 403, 404, 409, 413) marks the entry failed and the flusher goes on with the next.
 */
import mitt, { type Emitter } from "mitt";
import type { Message } from "../src/shared/message.schema.ts";
import { Flusher } from "./flusher.ts";
import { defaultLocks, type Locks } from "./leader.ts";
import { Outbox, type OutboxEntry } from "./outbox.ts";
import {
  CLOSE_CODES,
  type ConnectionState,
  type FrameError,
  RoomClient,
  type RoomClientOptions,
} from "./realtime.ts";
import { type KeyValueStorage, memoryStorage } from "./storage.ts";

export type RoomState = "connecting" | "syncing" | "live" | "offline" | "closed";

export interface RoomStatus {
  /** connecting (first connect) → syncing (catching up, or sending the outbox) → live; offline while down. */
  state: RoomState;
  /** True while offline and trying to reconnect (false when the device says it has no network). */
  reconnecting: boolean;
  /** Outbox entries still to send. */
  pending: number;
  /** Outbox entries refused by the server, waiting for retry() or discard(). */
  failed: number;
  /** When the last catch-up with the server completed. */
  lastSyncAt: Date | undefined;
}

export type LiveRoomEvents = {
  status: RoomStatus;
  message: Message;
  update: Message;
  presence: string[];
  /** Someone else is typing: show it for ttlMs unless renewed (or until their message arrives). */
  typing: { userId: string; ttlMs: number };
  /** The whole outbox of this room (queued and failed), in order, after every change. */
  outbox: OutboxEntry[];
  /** An outbox entry the server stored (its ack, or the message itself seen during catch-up). */
  delivered: { clientId: string; id?: string; seq: number };
  /** An outbox entry the server refused for good. */
  refused: OutboxEntry;
  /** A send failed for now (rate_limited, server unavailable, no ack…): retried in `inMs`. */
  retrying: { clientId: string; code: string; inMs: number };
  /** Errors about the connection, not about one message (e.g. a catch-up that failed). */
  error: FrameError;
};

/** What the room needs from a session (client/session.ts has all of it). */
export interface RoomSession {
  baseUrl: string;
  accessToken: () => string | Promise<string>;
  fetch: typeof fetch;
  user: { id: string } | null;
}

export interface LiveRoomOptions {
  session: RoomSession;
  roomId: string;
  /** Durable storage for the outbox (default: memory, lost with the page or process). */
  storage?: KeyValueStorage;
  locks?: Locks;
  /** Resume after this seq (default 0: the whole history). */
  lastSeq?: number;
  WebSocket?: RoomClientOptions["WebSocket"];
  /** Least time between two outbox frames (default 100 ms: ≤ 10 frames/s of the party's 40). */
  minIntervalMs?: number;
  /** No ack within this long: the send is retried with the same clientId (default 15 s). */
  ackTimeoutMs?: number;
}

/** The window's online/offline events, where there is a window. */
type Target = {
  addEventListener(t: string, f: () => void): void;
  removeEventListener(t: string, f: () => void): void;
};
const events = () => (!("window" in globalThis) ? undefined : (globalThis as unknown as Target));

export class LiveRoom {
  readonly outbox: Outbox;
  readonly client: RoomClient;
  private readonly emitter: Emitter<LiveRoomEvents> = mitt<LiveRoomEvents>();
  private readonly opts: LiveRoomOptions;
  private readonly flusher: Flusher;
  private entries: OutboxEntry[] = [];
  /** Delivered clientIds: never listed again, even while their removal from storage is under way. */
  private readonly settled = new Set<string>();
  private wasOpen = false;
  private closed = false;
  private status: RoomStatus = {
    state: "connecting",
    reconnecting: false,
    pending: 0,
    failed: 0,
    lastSyncAt: undefined,
  };
  readonly on: Emitter<LiveRoomEvents>["on"];
  readonly off: Emitter<LiveRoomEvents>["off"];

  /** Open a room: loads the outbox, connects, and sends what is queued once live. */
  static async open(opts: LiveRoomOptions): Promise<LiveRoom> {
    const userId = opts.session.user?.id;
    if (!userId) throw new Error("LiveRoom.open needs a signed-in session");
    const outbox = new Outbox({ storage: opts.storage ?? memoryStorage(), userId, roomId: opts.roomId });
    const room = new LiveRoom(opts, outbox);
    await room.reloadOutbox();
    await room.connect();
    return room;
  }

  private constructor(opts: LiveRoomOptions, outbox: Outbox) {
    this.opts = opts;
    this.outbox = outbox;
    this.flusher = new Flusher({
      outbox,
      locks: opts.locks ?? defaultLocks(),
      client: () => this.client,
      closed: () => this.closed,
      minIntervalMs: opts.minIntervalMs ?? 100,
      ackTimeoutMs: opts.ackTimeoutMs ?? 15_000,
      delivered: (clientId, seq, id) => this.delivered(clientId, seq, id),
      refuse: (clientId, error) => this.refuse(clientId, error),
      retrying: (r) => this.emitter.emit("retrying", r),
    });
    this.on = this.emitter.on;
    this.off = this.emitter.off;
    // Set in connect(): the constructor of RoomClient is private to its connect().
    this.client = undefined as unknown as RoomClient;
    outbox.onChange(() => void this.reloadOutbox());
  }

  private async connect() {
    const s = this.opts.session;
    const me = s.user!.id;
    const client = await RoomClient.connect({
      apiUrl: s.baseUrl,
      accessToken: s.accessToken,
      fetch: s.fetch,
      roomId: this.opts.roomId,
      lastSeq: this.opts.lastSeq,
      WebSocket: this.opts.WebSocket,
      onMessage: (m) => {
        this.emitter.emit("message", m);
        // Our own message seen on the way in (e.g. sent by another tab): it is delivered.
        if (m.authorId === me && this.entries.some((e) => e.clientId === m.clientId)) {
          void this.delivered(m.clientId, m.seq, m.id);
        }
      },
      onUpdate: (m) => this.emitter.emit("update", m),
      onPresence: (users) => this.emitter.emit("presence", users),
      onTyping: (userId, ttlMs) => {
        if (userId !== me) this.emitter.emit("typing", { userId, ttlMs });
      },
      onState: (state) => this.onClientState(state),
      onError: (err) => {
        if (!err.clientId) this.emitter.emit("error", err);
      },
      onClose: (code) => void this.onClientClose(code),
    });
    (this as { client: RoomClient }).client = client;
    if (this.closed) client.close();
    events()?.addEventListener("online", this.onOnline);
    events()?.addEventListener("offline", this.onOffline);
    this.onClientState(client.state);
  }

  private onOnline = () => {
    // Skip partysocket's back-off: the network is back.
    if (this.client?.state === "reconnecting") this.client.socket.reconnect();
    this.update();
  };
  private onOffline = () => this.update();

  private onClientState(state: ConnectionState) {
    if (state === "syncing" || state === "live") this.wasOpen = true;
    this.update();
    if (state === "live") void this.flusher.flush();
  }

  private async onClientClose(code: number) {
    // The frame in flight was too large for the party: that message can never be sent.
    const inFlight = this.flusher.inFlight;
    if (code === CLOSE_CODES.tooLarge && inFlight) {
      await this.refuse(inFlight, { code: "payload_too_large", message: "The message is too large." });
    }
  }

  /** The status as the UI should show it (see RoomStatus). */
  get current(): RoomStatus {
    return this.status;
  }

  get pending(): OutboxEntry[] {
    return this.entries;
  }

  private update() {
    const c = this.client?.state ?? "connecting";
    const queued = this.entries.filter((e) => e.state === "queued").length;
    const failed = this.entries.length - queued;
    const deviceOffline = (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false;
    let state: RoomState;
    if (c === "closed") state = "closed";
    else if (deviceOffline || c === "reconnecting" || (c === "connecting" && this.wasOpen)) state = "offline";
    else if (c === "connecting") state = "connecting";
    else if (c === "syncing" || queued > 0) state = "syncing";
    else state = "live";
    const next: RoomStatus = {
      state,
      reconnecting: state === "offline" && !deviceOffline,
      pending: queued,
      failed,
      lastSyncAt: this.client?.lastSyncAt,
    };
    const s = this.status;
    if (
      s.state === next.state &&
      s.reconnecting === next.reconnecting &&
      s.pending === next.pending &&
      s.failed === next.failed &&
      s.lastSyncAt === next.lastSyncAt
    )
      return;
    this.status = next;
    this.emitter.emit("status", next);
  }

  private async reloadOutbox() {
    this.entries = (await this.outbox.list()).filter((e) => !this.settled.has(e.clientId));
    this.emitter.emit("outbox", this.entries);
    this.update();
    if (this.client?.state === "live") void this.flusher.flush();
  }

  /** Write a message: stored durably at once (shown as pending), sent when the room is live. */
  async send(body: string, attachments: string[] = []): Promise<OutboxEntry> {
    return this.outbox.add(body, attachments);
  }

  /** Send a refused message again (same clientId, same place in the order). */
  retry(clientId: string) {
    return this.outbox.retry(clientId);
  }

  /** Drop a message from the outbox without sending it. */
  discard(clientId: string) {
    return this.outbox.remove(clientId);
  }

  typing() {
    if (this.client?.state === "live") this.client.typing();
  }

  private async delivered(clientId: string, seq: number, id?: string) {
    const first = !this.settled.has(clientId);
    this.settled.add(clientId);
    this.entries = this.entries.filter((e) => e.clientId !== clientId);
    if (first) this.emitter.emit("delivered", { clientId, seq, id });
    await this.outbox.remove(clientId);
  }

  private async refuse(clientId: string, error: NonNullable<OutboxEntry["error"]>) {
    const entry = await this.outbox.fail(clientId, error);
    if (entry) this.emitter.emit("refused", entry);
  }

  /** The highest seq delivered so far: persist it to resume after a reload. */
  get seq(): number {
    return this.client?.seq ?? this.opts.lastSeq ?? 0;
  }

  get presence(): string[] {
    return this.client?.presence ?? [];
  }

  close() {
    this.closed = true;
    events()?.removeEventListener("online", this.onOnline);
    events()?.removeEventListener("offline", this.onOffline);
    this.client?.close();
    this.outbox.close();
    this.emitter.all.clear();
  }
}
