import type * as Party from "partykit/server";
import { isTextIssue } from "../src/lib/text.ts";
import { RoomStateSchema } from "../src/shared/internal-api.schema.ts";
import { type Message, MessageHistorySchema } from "../src/shared/message.schema.ts";
import {
  CLOSE,
  type ClientFrame,
  ClientFrameSchema,
  PushSchema,
  TYPING_THROTTLE_MS,
} from "../src/shared/realtime.ts";
import { recheckAccess } from "./access.ts";
import { admitWithTicket, type ConnState, checkServiceRequest, identityOf } from "./auth.ts";
import { envOf } from "./env.ts";
import { GroupCommit, type MessageFrame } from "./group-commit.ts";
import { admitSocket, closeAll, closeMatching, FrameGuard, RevocationWatch } from "./guards.ts";
import { askApi } from "./internal-api.ts";
import { partyLog, reportPartyError, requestIdOf } from "./observability.ts";
import { persistBatch } from "./persist-batch.ts";
import { presenceOf } from "./presence.ts";
import { admit, HOLD_MS, newSeqOrder, release } from "./seq-order.ts";
import { callApi, json, send } from "./transport.ts";

/**
 * Chat party: one PartyKit room per chat room (room id = the API's room id). The party never
 * opens the database: it persists and reads through the API's internal routes.
 */
export default class ChatServer implements Party.Server {
  static onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    return admitWithTicket(req, lobby, (roomId) => `room:${roomId}`);
  }
  static onBeforeRequest(req: Party.Request, lobby: Party.Lobby) {
    return checkServiceRequest(req, lobby);
  }

  readonly room: Party.Room;
  private readonly guard: FrameGuard;
  private readonly revocations: RevocationWatch;
  private readonly lastTyping = new Map<string, number>();
  /** Socket messages are stored in groups, in arrival order (see group-commit.ts). */
  private readonly commits = new GroupCommit((batch) =>
    persistBatch(this.scope, batch, (m) => this.broadcastMessage(m)),
  );
  /** New messages wait here until the ones before them were broadcast (see seq-order.ts). */
  private readonly order = newSeqOrder<Message>();
  private holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(room: Party.Room) {
    this.room = room;
    this.guard = new FrameGuard(room.env);
    // Access is re-checked every ACCESS_RECHECK_SECONDS too: a `recheck` push may have been missed.
    const everyMs = envOf(room.env).ACCESS_RECHECK_SECONDS * 1000;
    this.revocations = new RevocationWatch(room, { everyMs, run: () => recheckAccess(room) });
  }

  private presence() {
    return presenceOf(this.room.getConnections<ConnState>());
  }

  async onConnect(conn: Party.Connection<ConnState>, ctx: Party.ConnectionContext) {
    const identity = identityOf(ctx);
    const before = this.presence();
    conn.setState(identity);
    if (!admitSocket(this.room, conn)) return;
    const state = await callApi(
      this.room.env,
      `/v1/internal/rooms/${this.room.id}/state?userId=${identity.userId}`,
    ).catch(() => undefined);
    // The ticket is up to a minute old: access lost since then closes the socket at once.
    if (state?.status === 404) return conn.close(CLOSE.accessLost, "access lost");
    // Without a usable answer lastSeq stays as it is; the client's sync fills any gap.
    const parsed = state?.status === 200 ? RoomStateSchema.safeParse(state.body) : undefined;
    if (parsed?.success) this.order.lastSeq = Math.max(this.order.lastSeq, parsed.data.lastSeq);
    else if (parsed)
      partyLog.warn("malformed API reply", { party: "chat", room: this.room.id, route: "state" });
    const users = this.presence();
    send(conn, { type: "welcome", userId: identity.userId, presence: users, lastSeq: this.order.lastSeq });
    if (users.length !== before.length)
      this.room.broadcast(JSON.stringify({ type: "presence", users }), [conn.id]);
    this.revocations.start();
  }

  onClose(conn: Party.Connection<ConnState>) {
    this.guard.forget(conn);
    this.lastTyping.delete(conn.id);
    const users = this.presence();
    if (conn.state && !users.includes(conn.state.userId)) {
      this.room.broadcast(JSON.stringify({ type: "presence", users }));
    }
  }

  async onMessage(raw: string | ArrayBuffer | ArrayBufferView, conn: Party.Connection<ConnState>) {
    if (!this.guard.admit(conn, raw)) return;
    let data: unknown;
    try {
      data = JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw as ArrayBuffer));
    } catch {
      return send(conn, { type: "error", code: "malformed_frame", message: "Frames must be JSON objects." });
    }
    const parsed = ClientFrameSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Text the API would refuse to store (src/lib/text.ts) gets the API's own code for it.
      const text = parsed.error.issues.some(isTextIssue);
      return send(conn, {
        type: "error",
        code: text ? "validation_failed" : "invalid_frame",
        message: `${issue?.path.join(".") || "type"}: ${issue?.message ?? "invalid"}`,
        ...answering(data),
      });
    }
    // One request id per frame: sent to the API with the call it causes, logged on both sides,
    // and put into any error frame, so a client's report can be traced end to end.
    const requestId = crypto.randomUUID();
    const run = async () => {
      try {
        await this.handle(parsed.data, conn, requestId);
      } catch (err) {
        const message = "Something went wrong.";
        send(conn, { type: "error", code: "internal", message, requestId, ...answering(parsed.data) });
        await this.report(err, requestId, conn.state?.userId);
      }
    };
    // Messages queue in the group commit synchronously from here, so seq follows arrival order.
    return run();
  }

  /** What askApi needs to answer a client and report a failure. */
  private get scope() {
    return { env: this.room.env, room: this.room.id, report: this.report.bind(this) };
  }

  private report(err: unknown, requestId: string, userId?: string) {
    return reportPartyError(this.room.env, err, { party: "chat", room: this.room.id, requestId, userId });
  }

  private async handle(frame: ClientFrame, conn: Party.Connection<ConnState>, requestId: string) {
    const userId = conn.state!.userId;
    if (frame.type === "typing") {
      const last = this.lastTyping.get(conn.id) ?? 0;
      if (Date.now() - last < TYPING_THROTTLE_MS) return;
      this.lastTyping.set(conn.id, Date.now());
      this.room.broadcast(JSON.stringify({ type: "typing", userId }), [conn.id]);
      return;
    }
    if (frame.type === "sync") return this.sync(conn, frame.afterSeq, requestId);
    await this.post(conn, frame, requestId);
  }

  private post(conn: Party.Connection<ConnState>, frame: MessageFrame, requestId: string) {
    return this.commits.submit({ conn, frame, requestId });
  }

  private async sync(conn: Party.Connection<ConnState>, afterSeq: number, requestId: string) {
    const reply = await askApi(this.scope, conn, requestId, "Could not load history; retry sync.", {
      // For this connection's user: a 404 (no longer allowed to see the room) closes it (4000).
      path: `/v1/internal/rooms/${this.room.id}/messages?afterSeq=${afterSeq}&limit=100&userId=${conn.state!.userId}`,
      ok: [200],
      schema: MessageHistorySchema,
    });
    if (reply) send(conn, { type: "history", messages: reply.body.items, hasMore: reply.body.hasMore });
  }

  /** New messages in seq order (see seq-order.ts); a held one goes out within HOLD_MS at the latest. */
  private broadcastMessage(message: Message) {
    this.broadcastAll(admit(this.order, message));
    if (this.order.held.size > 0) this.holdTimer ??= setTimeout(() => this.flushHeld(), HOLD_MS);
    else this.clearHoldTimer();
  }

  private flushHeld() {
    this.broadcastAll(release(this.order, true));
    this.clearHoldTimer();
  }

  private clearHoldTimer() {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  private broadcastAll(messages: Message[]) {
    for (const message of messages) this.room.broadcast(JSON.stringify({ type: "message", message }));
  }

  /**
   * API pushes (service credential checked in onBeforeRequest), logged with the API's request id.
   * GET is the credential-free liveness answer (scripts/lib/stack.ts, /ready): the same for every
   * room, so it says nothing about who is connected where.
   */
  async onRequest(req: Party.Request) {
    if (req.method === "GET") return json({ ok: true });
    const requestId = requestIdOf(req);
    try {
      return await this.push(req, requestId);
    } catch (err) {
      await this.report(err, requestId);
      return json({ error: "internal", requestId }, 500);
    }
  }

  private async push(req: Party.Request, requestId: string) {
    if (req.headers.get("x-petrel-debug") === "boom" && isDevEnvironment(this.room.env)) {
      // Development and test only, like the API's /dev/boom: proves party errors reach Sentry.
      throw new Error("party boom: internal detail");
    }
    const debug = req.headers.get("x-petrel-debug");
    const answer = debug && isDevEnvironment(this.room.env) ? this.commits.debug(debug) : undefined;
    if (answer) return answer; // development and test only (group-commit.ts)
    const parsed = PushSchema.safeParse(await req.json().catch(() => null));
    if (!parsed.success) return json({ error: "invalid push", requestId }, 400);
    const push = parsed.data;
    partyLog.info("push", { party: "chat", room: this.room.id, type: push.type, requestId });
    if (push.type === "message") this.broadcastMessage(push.message);
    if (push.type === "disconnect") closeMatching(this.room, push);
    if (push.type === "recheck") await recheckAccess(this.room);
    if (push.type === "room_deleted") closeAll(this.room, CLOSE.roomDeleted, "room deleted");
    return json({ ok: true, requestId });
  }
}

/** The `clientId` of a `message` frame, for the error frame that answers it (API.md v1.1). */
function answering(frame: unknown): { clientId?: string } {
  const f = frame as { type?: unknown; clientId?: unknown } | null;
  return f?.type === "message" && typeof f.clientId === "string" ? { clientId: f.clientId } : {};
}

const isDevEnvironment = (env: Record<string, unknown>) => {
  const { ENVIRONMENT } = envOf(env);
  return ENVIRONMENT === "development" || ENVIRONMENT === "test";
};
