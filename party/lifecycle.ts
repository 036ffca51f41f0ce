import type * as Party from "partykit/server";
import { CLOSE, TYPING_THROTTLE_MS, TYPING_TTL_MS } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { envOf } from "./env.ts";

/**
 * A socket's life after the welcome, all of it in the connection's state (auth.ts ConnState) so
 * that it survives hibernation:
 * - Lease: `heartbeat` frames renew it (clients send one every half lease); a socket silent for
 *   longer than the lease is closed with 4001 by the sweep (an alarm every half lease), so a
 *   client that vanished without a close frame leaves presence within lease + one heartbeat.
 * - Read-acks (backpressure): workerd has no bufferedAmount, so the room cannot see a socket's
 *   unsent bytes. A `heartbeat {seq}` says which messages the client has read; one that falls
 *   more than MAX_UNACKED_MESSAGES behind the messages sent to it is closed with 4001 instead of
 *   being sent more, and resumes like any reconnect (`sync {afterSeq}`). Clients also send a
 *   heartbeat after every `ackEvery` messages, so a reading client is never that far behind.
 */
export function timings(env: Record<string, unknown>) {
  const e = envOf(env);
  const leaseMs = e.PRESENCE_LEASE_SECONDS * 1000;
  return {
    leaseMs,
    heartbeatMs: leaseMs / 2,
    maxUnacked: e.MAX_UNACKED_MESSAGES,
    ackEvery: Math.max(1, Math.floor(e.MAX_UNACKED_MESSAGES / 4)),
  };
}

/** What the welcome tells a client about heartbeats (API.md v1.1). */
export function welcomeTimings(env: Record<string, unknown>) {
  const t = timings(env);
  return { heartbeatSeconds: t.heartbeatMs / 1000, leaseSeconds: t.leaseMs / 1000, ackEvery: t.ackEvery };
}

/** A `heartbeat {seq?}` frame: renew the lease and take the read-ack. */
export function renew(conn: Party.Connection<ConnState>, seq: number | undefined) {
  const s = conn.state;
  if (!s) return;
  const readSeq = seq === undefined ? s.readSeq : Math.max(s.readSeq ?? seq, seq);
  conn.setState({ ...s, beatAt: Date.now(), readSeq });
}

/** A `typing` frame: shown to the others for TYPING_TTL_MS, at most one per TYPING_THROTTLE_MS. */
export function typing(room: Party.Room, conn: Party.Connection<ConnState>) {
  const s = conn.state;
  if (!s || Date.now() - (s.typedAt ?? 0) < TYPING_THROTTLE_MS) return;
  conn.setState({ ...s, typedAt: Date.now() });
  room.broadcast(JSON.stringify({ type: "typing", userId: s.userId, ttlMs: TYPING_TTL_MS }), [conn.id]);
}

/** The lease sweep: close the sockets whose last heartbeat is older than the lease. */
export function sweepLeases(room: Party.Room): Party.Connection<ConnState>[] {
  const { leaseMs } = timings(room.env);
  const now = Date.now();
  const closed: Party.Connection<ConnState>[] = [];
  for (const c of room.getConnections<ConnState>()) {
    if (c.state && now - (c.state.beatAt ?? 0) > leaseMs) {
      c.close(CLOSE.slowConsumer, "no heartbeat within the lease");
      closed.push(c);
    }
  }
  return closed;
}

/**
 * Broadcast messages (already in seq order) to every open socket that keeps up; close the ones
 * that fell too far behind their read-acks. Returns the sockets it closed.
 */
export function deliverMessages<M extends { seq: number }>(
  room: Party.Room,
  messages: M[],
): Party.Connection<ConnState>[] {
  if (messages.length === 0) return [];
  const { maxUnacked } = timings(room.env);
  const frames = messages.map((message) => ({
    seq: message.seq,
    text: JSON.stringify({ type: "message", message }),
  }));
  const closed: Party.Connection<ConnState>[] = [];
  for (const c of room.getConnections<ConnState>()) {
    const s = c.state;
    if (!s) continue;
    // No read position known yet (the welcome could not learn lastSeq): start counting here.
    if (s.readSeq === undefined) c.setState({ ...s, readSeq: frames[0]!.seq - 1 });
    const readSeq = c.state?.readSeq ?? 0;
    try {
      for (const f of frames) {
        if (f.seq - readSeq > maxUnacked) {
          c.close(CLOSE.slowConsumer, "slow consumer: messages not acknowledged");
          closed.push(c);
          break;
        }
        c.send(f.text);
      }
    } catch {
      // socket already closing
    }
  }
  return closed;
}
