/**
 * Presence leases, client side (API.md v1.1): after a `welcome`, send `heartbeat {seq}` every
 * `heartbeatSeconds` (default leaseSeconds / 3) and after every `ackEvery` messages; `seq` is the
 * read-ack that keeps a reading client from being closed as a slow consumer (4001). A server from
 * before leases answers the unknown frame type with `invalid_frame`: then no more heartbeats.
 * Used by both parties' clients (RoomClient, UserChannel).
 */
import type { FrameError } from "./frames.ts";

export const DEFAULT_LEASE_SECONDS = 30;

export interface HeartbeatTimings {
  heartbeatSeconds?: number;
  leaseSeconds?: number;
  ackEvery?: number;
}

export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;
  private ackEvery: number | undefined;
  private unacked = 0;
  /** Unset until the server refused the frame type (false); never set true: silence is consent. */
  private supported: boolean | undefined;
  private readonly socket: { readyState: number; send(data: string): void };
  private readonly seq: () => number | undefined;

  constructor(socket: { readyState: number; send(data: string): void }, seq: () => number | undefined) {
    this.socket = socket;
    this.seq = seq;
  }

  start(welcome: HeartbeatTimings) {
    this.stop();
    if (this.supported === false) return;
    this.ackEvery = welcome.ackEvery;
    const seconds = welcome.heartbeatSeconds ?? (welcome.leaseSeconds ?? DEFAULT_LEASE_SECONDS) / 3;
    this.timer = setInterval(() => this.beat(), Math.max(1000, seconds * 1000));
    this.beat();
  }

  /** A message was delivered: a read-ack is due after `ackEvery` of them. */
  delivered() {
    if (this.ackEvery && ++this.unacked >= this.ackEvery) this.beat();
  }

  /** True when `err` was the old server refusing the heartbeat frame (then it is not the app's). */
  refused(err: FrameError): boolean {
    if (err.clientId || err.code !== "invalid_frame" || !/^type\b/.test(err.message)) return false;
    this.supported = false;
    this.stop();
    return true;
  }

  private beat() {
    if (this.socket.readyState !== 1 || this.supported === false) return;
    this.unacked = 0;
    const seq = this.seq();
    this.socket.send(JSON.stringify(seq === undefined ? { type: "heartbeat" } : { type: "heartbeat", seq }));
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
