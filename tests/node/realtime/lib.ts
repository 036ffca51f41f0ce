/**
 * Node-side helpers for the realtime tests (tests/setup/node-stack.ts): users and rooms over the
 * Worker's HTTP API, and raw `ws` sockets that record every frame the server sent, heartbeat as
 * the protocol says (API.md v1.1), and can stop reading.
 */
import { inject } from "vitest";
import WebSocket from "ws";
import { getDatabase } from "../../../src/db/client.ts";
import { memberships } from "../../../src/db/schema.ts";

const stack = () => inject("nodeStack");
let ip = 1;

async function call(path: string, body: unknown, token?: string) {
  const res = await fetch(`${stack().workerUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "cf-connecting-ip": `10.9.${ip >> 8}.${ip++ & 255}`,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export interface User {
  id: string;
  token: string;
}

export async function registerUser(name: string): Promise<User> {
  const email = `${name}-${crypto.randomUUID()}@example.test`;
  const body = await call("/v1/auth/register", { email, password: "correct horse battery staple", name });
  return { id: (body.user as { id: string }).id, token: body.accessToken as string };
}

/** An owner's public room, and the other users added to its org as members. */
export async function roomWith(owner: User, others: User[]): Promise<string> {
  const org = await call("/v1/orgs", { name: "Realtime" }, owner.token);
  const room = await call(`/v1/orgs/${org.id}/rooms`, { name: "general", visibility: "public" }, owner.token);
  const { db } = getDatabase(stack().sqldUrl, undefined, 5000);
  for (const u of others)
    await db.insert(memberships).values({ orgId: org.id as string, userId: u.id, role: "member" });
  return room.id as string;
}

export async function ticketUrl(user: User, roomId: string): Promise<string> {
  return (await call("/v1/realtime/tickets", { channel: `room:${roomId}` }, user.token)).url as string;
}

type Frame = Record<string, unknown> & { type: string };

/** A raw socket: every frame kept as sent; heartbeats with the highest seq read, like a client. */
export class RawClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly ws: WebSocket;
  private timer: ReturnType<typeof setInterval> | undefined;
  private seen = 0;
  private sinceAck = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => this.onFrame(JSON.parse(String(data)) as Frame));
    ws.on("close", (code, reason) => {
      clearInterval(this.timer);
      this.closed = { code, reason: String(reason) };
    });
  }

  static async open(user: User, roomId: string): Promise<RawClient> {
    const client = new RawClient(new WebSocket(await ticketUrl(user, roomId)));
    await until(() => client.frames.length > 0 || client.closed !== undefined, 10_000, "welcome");
    return client;
  }

  private onFrame(f: Frame) {
    this.frames.push(f);
    if (f.type === "welcome") {
      this.timer = setInterval(() => this.beat(), (f.heartbeatSeconds as number) * 1000);
    }
    if (f.type === "message") {
      this.seen = Math.max(this.seen, (f.message as { seq: number }).seq);
      const every = (this.frames[0]?.ackEvery as number | undefined) ?? Number.POSITIVE_INFINITY;
      if (++this.sinceAck >= every) this.beat();
    }
  }

  private beat() {
    this.sinceAck = 0;
    this.send({ type: "heartbeat", seq: this.seen });
  }

  send(frame: unknown) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Stop reading from the socket (the kernel buffers fill); timers, and so heartbeats, go on. */
  pause() {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }
  resume() {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  close() {
    clearInterval(this.timer);
    this.ws.close();
  }

  get welcome(): Frame {
    return this.frames[0]!;
  }
  diffs() {
    return this.frames
      .filter((f) => f.type === "presence_diff")
      .map((f) => ({ joined: f.joined, left: f.left }));
  }
  seqs() {
    return this.frames.flatMap((f) =>
      f.type === "message"
        ? [(f.message as { seq: number }).seq]
        : f.type === "history"
          ? (f.messages as Array<{ seq: number }>).map((m) => m.seq)
          : [],
    );
  }
}

export async function until(cond: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stop or start the stack's partykit dev (a real process). */
export async function partykit(action: "stop" | "start") {
  const res = await fetch(`${stack().controlUrl}/services/partykit/${action}`, { method: "POST" });
  if (!res.ok) throw new Error(`partykit ${action}: ${res.status}`);
}
