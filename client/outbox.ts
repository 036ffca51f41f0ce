/**
 * The outbox: messages a user composed, kept in durable storage (client/storage.ts) until the
 * server has stored them. Each entry keeps its `clientId` (the server's idempotency key) and its
 * place in the order it was written. Every tab of an origin sees the same entries: a change in one
 * tab is announced to the others over a BroadcastChannel, which re-read the storage.
 * Sending is not done here but by the flusher in client/room.ts, one tab at a time.
 */
import type { KeyValueStorage } from "./storage.ts";

export type OutboxEntryState = "queued" | "failed";

export interface OutboxEntry {
  clientId: string;
  roomId: string;
  userId: string;
  body: string;
  attachments: string[];
  /** Position in the user's writing order (ms since the epoch × 1000 + a counter). */
  order: number;
  createdAt: string;
  /** `queued`: waits to be sent. `failed`: refused for good; waits for retry() or discard(). */
  state: OutboxEntryState;
  error?: { code: string; message: string; requestId?: string };
  attempts: number;
}

const CHANNEL = "petrel-outbox";

/** The part of BroadcastChannel used here (browsers and Node ≥ 18 have it globally). */
interface Channel {
  postMessage(data: unknown): void;
  close(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  unref?: () => void;
}
type ChannelCtor = new (name: string) => Channel;
let lastOrder = 0;
/** Strictly increasing within this process; ties across tabs are broken by clientId. */
const nextOrder = () => {
  lastOrder = Math.max(Date.now() * 1000, lastOrder + 1);
  return lastOrder;
};

export class Outbox {
  readonly userId: string;
  readonly roomId: string;
  private readonly storage: KeyValueStorage;
  private readonly listeners = new Set<() => void>();
  private readonly channel: Channel | undefined;

  constructor(opts: { storage: KeyValueStorage; userId: string; roomId: string }) {
    this.storage = opts.storage;
    this.userId = opts.userId;
    this.roomId = opts.roomId;
    const Ctor = (globalThis as { BroadcastChannel?: ChannelCtor }).BroadcastChannel;
    if (Ctor) {
      this.channel = new Ctor(CHANNEL);
      // Node: a channel must not keep a script alive.
      this.channel.unref?.();
      this.channel.onmessage = (e) => {
        if ((e.data as { prefix?: string } | null)?.prefix === this.prefix) this.emit();
      };
    }
  }

  private get prefix() {
    return `outbox/${this.userId}/${this.roomId}/`;
  }

  private key(e: Pick<OutboxEntry, "order" | "clientId">) {
    return `${this.prefix}${String(e.order).padStart(17, "0")}/${e.clientId}`;
  }

  /** Every entry, queued and failed, in writing order. */
  async list(): Promise<OutboxEntry[]> {
    return (await this.storage.list<OutboxEntry>(this.prefix)).map(([, e]) => e);
  }

  async get(clientId: string): Promise<OutboxEntry | undefined> {
    return (await this.list()).find((e) => e.clientId === clientId);
  }

  /** Store a new message durably; resolved once it is in storage. */
  async add(body: string, attachments: string[] = [], clientId = crypto.randomUUID()): Promise<OutboxEntry> {
    const entry: OutboxEntry = {
      clientId,
      roomId: this.roomId,
      userId: this.userId,
      body,
      attachments,
      order: nextOrder(),
      createdAt: new Date().toISOString(),
      state: "queued",
      attempts: 0,
    };
    await this.storage.set(this.key(entry), entry);
    this.changed();
    return entry;
  }

  /** Delivered (or discarded): gone from the outbox. False when it was not there. */
  async remove(clientId: string): Promise<boolean> {
    const entry = await this.get(clientId);
    if (!entry) return false;
    await this.storage.del(this.key(entry));
    this.changed();
    return true;
  }

  /** Count an attempt (so a message that keeps failing transiently can be seen). */
  async attempted(clientId: string): Promise<void> {
    await this.patch(clientId, (e) => ({ ...e, attempts: e.attempts + 1 }), false);
  }

  /** Refused for good: kept, marked failed with the server's reason, skipped by the flusher. */
  async fail(clientId: string, error: NonNullable<OutboxEntry["error"]>): Promise<OutboxEntry | undefined> {
    return this.patch(clientId, (e) => ({ ...e, state: "failed", error }));
  }

  /** Queue a failed message again, in its original place, with the same clientId. */
  async retry(clientId: string): Promise<OutboxEntry | undefined> {
    return this.patch(clientId, (e) => ({ ...e, state: "queued", error: undefined }));
  }

  private async patch(clientId: string, fn: (e: OutboxEntry) => OutboxEntry, notify = true) {
    const entry = await this.get(clientId);
    if (!entry) return undefined;
    const next = fn(entry);
    await this.storage.set(this.key(next), next);
    if (notify) this.changed();
    return next;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    this.emit();
    this.channel?.postMessage({ prefix: this.prefix });
  }

  private emit() {
    for (const l of this.listeners) l();
  }

  close() {
    this.listeners.clear();
    this.channel?.close();
  }
}
