/**
 * The outbox's sender, one per LiveRoom: while the room is live, take the oldest queued entry,
 * send it, wait for its ack, then the next; never more than one frame per `minIntervalMs`. Across
 * tabs only the holder of the Web Lock `petrel-outbox:<user>:<room>` sends (see leader.ts).
 * Transient failures wait and resend the same clientId; permanent ones go to `refuse`.
 */
import { MAX_FRAME_BYTES } from "../src/shared/realtime.ts";
import { SendError } from "./frames.ts";
import type { Locks } from "./leader.ts";
import type { Outbox, OutboxEntry } from "./outbox.ts";
import type { RoomClient } from "./realtime.ts";

/** Error codes after which sending the same message again can succeed. */
const TRANSIENT = new Set(["rate_limited", "dependency_unavailable", "internal", "disconnected", "timeout"]);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface FlusherHost {
  readonly outbox: Outbox;
  readonly locks: Locks;
  client(): RoomClient;
  closed(): boolean;
  minIntervalMs: number;
  ackTimeoutMs: number;
  delivered(clientId: string, seq: number, id?: string): Promise<void>;
  refuse(clientId: string, error: NonNullable<OutboxEntry["error"]>): Promise<void>;
  retrying(r: { clientId: string; code: string; inMs: number }): void;
}

export class Flusher {
  /** The clientId whose frame is on the wire, waiting for its answer. */
  inFlight: string | undefined;
  private flushing = false;
  private lastSent = 0;
  private readonly host: FlusherHost;

  constructor(host: FlusherHost) {
    this.host = host;
  }

  /** Send the outbox, oldest first, while this room is live; one flusher per user and room. */
  async flush() {
    if (this.flushing || this.host.closed()) return;
    this.flushing = true;
    try {
      const name = `petrel-outbox:${this.host.outbox.userId}:${this.host.outbox.roomId}`;
      await this.host.locks.withLock(name, () => this.flushHeld());
    } finally {
      this.flushing = false;
    }
    // Something queued while the lock was being released: go again (after a pause, never a spin).
    if (
      this.host.client().state === "live" &&
      (await this.host.outbox.list()).some((e) => e.state === "queued")
    ) {
      setTimeout(() => void this.flush(), this.host.minIntervalMs);
    }
  }

  private async flushHeld() {
    let backoff = 500;
    while (
      !this.host.closed() &&
      this.host.client().state === "live" &&
      this.host.client().socket.readyState === 1
    ) {
      // Read the storage, not this.entries: another tab may have sent some meanwhile.
      const next = (await this.host.outbox.list()).find((e) => e.state === "queued");
      if (!next) return;
      const frame = JSON.stringify({
        type: "message",
        clientId: next.clientId,
        body: next.body,
        attachments: next.attachments,
      });
      if (new TextEncoder().encode(frame).length > MAX_FRAME_BYTES) {
        await this.host.refuse(next.clientId, {
          code: "payload_too_large",
          message: "The message is too large to send.",
        });
        continue;
      }
      const wait = this.lastSent + this.host.minIntervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      this.lastSent = Date.now();
      this.inFlight = next.clientId;
      try {
        await this.host.outbox.attempted(next.clientId);
        const ack = await this.sendOnce(next);
        await this.host.delivered(next.clientId, ack.seq, ack.id);
        backoff = 500;
      } catch (err) {
        const e =
          err instanceof SendError
            ? err
            : new SendError(next.clientId, { code: "internal", message: String(err) });
        if (!TRANSIENT.has(e.code)) {
          await this.host.refuse(next.clientId, { code: e.code, message: e.message, requestId: e.requestId });
          continue;
        }
        const inMs = e.code === "rate_limited" ? Math.max(1, e.retryAfter ?? 1) * 1000 : backoff;
        if (e.code !== "rate_limited") backoff = Math.min(backoff * 2, 10_000);
        this.host.retrying({ clientId: next.clientId, code: e.code, inMs });
        await sleep(inMs);
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  private sendOnce(e: OutboxEntry): Promise<{ id: string; seq: number }> {
    const timeoutMs = this.host.ackTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SendError(e.clientId, { code: "timeout", message: "No answer from the server." })),
        timeoutMs,
      );
      this.host
        .client()
        .send(e.body, { clientId: e.clientId, attachments: e.attachments.length ? e.attachments : undefined })
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  }
}
