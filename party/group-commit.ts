/**
 * Group commit for a chat room's socket messages: messages that arrive while the room is
 * already storing others are stored together, in one internal call and one database
 * transaction (POST /v1/internal/rooms/:id/messages/batch).
 *
 * The wait is bounded by construction, with no timer: when nothing is in flight a message is
 * sent at once, alone (a lone message is never delayed); while a call is in flight, arrivals
 * queue, and the moment it returns the next call takes all of them, up to MESSAGE_BATCH_MAX
 * messages and MESSAGE_BATCH_BODY_LIMIT bytes. So a message waits at most for the call ahead of
 * it, and batches grow exactly as fast as the API falls behind. A fixed collection window would
 * delay every lone message by the window and still not bound a burst. One call in flight per room
 * keeps seqs in arrival order (the batch keeps its order), across connections and within one.
 * It holds nothing across hibernation: a message is queued only while its onMessage handler and
 * the call ahead of it are still running, and a room with work in flight is not evicted.
 * Hand-written: the queue is a dozen lines and no library fits a PartyKit room's event model.
 */
import type * as Party from "partykit/server";
import { MESSAGE_BATCH_BODY_LIMIT, MESSAGE_BATCH_MAX } from "../src/shared/internal-api.schema.ts";
import type { ClientFrame } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { json } from "./transport.ts";

export type MessageFrame = Extract<ClientFrame, { type: "message" }>;

export interface PendingMessage {
  conn: Party.Connection<ConnState>;
  frame: MessageFrame;
  requestId: string;
}

/** What a flush did, for the development/test hook below and logs. */
export interface CommitStats {
  calls: number;
  messages: number;
  /** Messages per call and the API's `X-Petrel-Cost` db count per call, the last 100 calls. */
  recent: Array<{ messages: number; db: number | null }>;
  queued: number;
  held: boolean;
}

/** Bytes a message adds to the batch body (its JSON, with the author id and separators). */
const sizeOf = (p: PendingMessage) => new TextEncoder().encode(JSON.stringify(p.frame)).length + 80;
/** Room for the envelope `{"messages":[...]}`. */
const BODY_BUDGET = MESSAGE_BATCH_BODY_LIMIT - 1024;

export class GroupCommit {
  private queue: Array<{ item: PendingMessage; done: (err?: unknown) => void }> = [];
  private inFlight = false;
  private held = false;
  private readonly flush: (batch: PendingMessage[]) => Promise<number | null>;
  readonly stats: CommitStats = { calls: 0, messages: 0, recent: [], queued: 0, held: false };

  /** `flush` stores one batch in one call and answers its senders; it resolves with the call's db cost. */
  constructor(flush: (batch: PendingMessage[]) => Promise<number | null>) {
    this.flush = flush;
  }

  /**
   * Queue a message (synchronously: arrival order is seq order); resolves once it was answered,
   * rejects if its flush threw (the caller answers `internal`, like any failed frame).
   */
  submit(item: PendingMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.pump();
    });
  }

  private take() {
    const batch: typeof this.queue = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < MESSAGE_BATCH_MAX) {
      const size = sizeOf(this.queue[0]!.item);
      if (batch.length > 0 && bytes + size > BODY_BUDGET) break;
      bytes += size;
      batch.push(this.queue.shift()!);
    }
    return batch;
  }

  private pump() {
    if (this.inFlight || this.held || this.queue.length === 0) return;
    const batch = this.take();
    this.inFlight = true;
    let failure: unknown;
    this.flush(batch.map((b) => b.item))
      .then(
        (db) => this.record(batch.length, db),
        (err: unknown) => {
          failure = err ?? new Error("group commit flush failed");
        },
      )
      .finally(() => {
        this.inFlight = false;
        for (const b of batch) b.done(failure);
        this.pump();
      });
  }

  private record(messages: number, db: number | null) {
    this.stats.calls++;
    this.stats.messages += messages;
    this.stats.recent.push({ messages, db });
    if (this.stats.recent.length > 100) this.stats.recent.splice(0, this.stats.recent.length - 100);
  }

  /**
   * Development and test only (the caller checks ENVIRONMENT and the service credential):
   * `hold` stops flushing so a test can queue a known burst, `release` flushes it, `stats` reads
   * the counters. Answers undefined for any other value.
   */
  debug(command: string): Response | undefined {
    if (command === "group-commit hold") this.held = true;
    else if (command === "group-commit release") this.held = false;
    else if (command !== "group-commit stats") return undefined;
    this.pump();
    return json({ ...this.stats, queued: this.queue.length, held: this.held });
  }
}
