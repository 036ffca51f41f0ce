import type * as Party from "partykit/server";
import { isTextIssue } from "../src/lib/text.ts";
import { type Message, MessageHistorySchema } from "../src/shared/message.schema.ts";
import { CLOSE, type ClientFrame, ClientFrameSchema, PushSchema } from "../src/shared/realtime.ts";
import { recheckAccess, roomLastSeq } from "./access.ts";
import { admitWithTicket, type ConnState, checkServiceRequest, identityOf, userTag } from "./auth.ts";
import { debugAction, isDevEnvironment } from "./debug.ts";
import { envOf } from "./env.ts";
import { GroupCommit, type MessageFrame } from "./group-commit.ts";
import { admitFrame, admitSocket, closeAll, closeMatching } from "./guards.ts";
import { askApi } from "./internal-api.ts";
import { renew, sweepLeases, timings, typing } from "./lifecycle.ts";
import { partyLog, reportPartyError, requestIdOf } from "./observability.ts";
import { persistBatch } from "./persist-batch.ts";
import { RoomLife } from "./room-life.ts";
import { checkSessions } from "./sessions.ts";
import { json, send } from "./transport.ts";

/**
 * Chat party: one PartyKit room per chat room (room id = the API's room id). The party never
 * opens the database: it persists and reads through the API's internal routes. It hibernates:
 * what it must remember lives in connection state and room storage (room-life.ts), never only
 * in a field of this instance, and timed work runs on the room's alarm.
 */
export default class ChatServer implements Party.Server {
  static onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    return admitWithTicket(req, lobby, (roomId) => `room:${roomId}`);
  }
  static onBeforeRequest(req: Party.Request, lobby: Party.Lobby) {
    return checkServiceRequest(req, lobby);
  }

  readonly options = { hibernate: true };
  readonly room: Party.Room;
  private readonly life: RoomLife<Message>;
  /**
   * Socket messages are stored in groups, in arrival order (see group-commit.ts). Work in flight,
   * not state: a room with a call in flight is not evicted.
   */
  private readonly commits = new GroupCommit((batch) =>
    persistBatch(this.scope, batch, (m) => this.broadcastMessage(m)),
  );
  /** Which instance answers (dev/test `instance` hook): a new one after an eviction. */
  private readonly instance = crypto.randomUUID();

  constructor(room: Party.Room) {
    this.room = room;
    const e = envOf(room.env);
    // Access is re-checked every ACCESS_RECHECK_SECONDS too: a `recheck` push may have been missed.
    this.life = new RoomLife(room, {
      sweep: timings(room.env).heartbeatMs,
      sessions: e.SESSION_CHECK_SECONDS * 1000,
      access: e.ACCESS_RECHECK_SECONDS * 1000,
    });
  }

  getConnectionTags(_conn: Party.Connection, ctx: Party.ConnectionContext) {
    return userTag(ctx);
  }

  async onStart() {
    await this.room.blockConcurrencyWhile(async () => {
      await this.life.store();
    });
  }

  async onConnect(conn: Party.Connection<ConnState>, ctx: Party.ConnectionContext) {
    const identity = identityOf(ctx);
    conn.setState({ ...identity, beatAt: Date.now() });
    if (!admitSocket(this.room, conn)) return;
    const lastSeq = await roomLastSeq(this.room.env, (await this.life.store()).id, identity.userId);
    // The ticket is up to a minute old: access lost since then closes the socket at once.
    if (lastSeq === "denied") return conn.close(CLOSE.accessLost, "access lost");
    // Without a usable answer lastSeq stays as it is; the client's sync fills any gap.
    if (lastSeq !== undefined) (await this.life.store()).knowSeq(lastSeq);
    const known = lastSeq !== undefined || (await this.life.store()).order.lastSeq > 0;
    const welcome = await this.life.join(conn, known);
    send(conn, { type: "welcome", userId: identity.userId, ...welcome });
  }

  onClose(conn: Party.Connection<ConnState>) {
    return this.life.left([conn]);
  }

  onError(conn: Party.Connection<ConnState>) {
    return this.life.left([conn]);
  }

  onAlarm() {
    return this.life.alarm({
      // The sweep also settles presence for sockets closed elsewhere whose close never came back.
      sweep: async () => {
        sweepLeases(this.room);
        await this.life.settle();
        return undefined;
      },
      sessions: async () => checkSessions(this.room, await this.life.store()),
      access: async () => {
        await recheckAccess(this.room, (await this.life.store()).id);
        await this.life.settle();
        return undefined;
      },
    });
  }

  async onMessage(raw: string | ArrayBuffer | ArrayBufferView, conn: Party.Connection<ConnState>) {
    await this.life.store();
    if (!admitFrame(conn, raw, this.room.env)) return this.life.left([conn]);
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
    return { env: this.room.env, room: this.life.roomId, report: this.report.bind(this) };
  }

  private report(err: unknown, requestId: string, userId?: string) {
    const room = this.life.roomId;
    return reportPartyError(this.room.env, err, { party: "chat", room, requestId, userId });
  }

  private async handle(frame: ClientFrame, conn: Party.Connection<ConnState>, requestId: string) {
    if (frame.type === "typing") return typing(this.room, conn);
    if (frame.type === "heartbeat") return renew(conn, frame.seq);
    if (frame.type === "sync") return this.sync(conn, frame.afterSeq, requestId);
    await this.post(conn, frame, requestId);
  }

  private post(conn: Party.Connection<ConnState>, frame: MessageFrame, requestId: string) {
    return this.commits.submit({ conn, frame, requestId });
  }

  private async sync(conn: Party.Connection<ConnState>, afterSeq: number, requestId: string) {
    const reply = await askApi(this.scope, conn, requestId, "Could not load history; retry sync.", {
      // For this connection's user: a 404 (no longer allowed to see the room) closes it (4000).
      path: `/v1/internal/rooms/${this.life.roomId}/messages?afterSeq=${afterSeq}&limit=100&userId=${conn.state!.userId}`,
      ok: [200],
      schema: MessageHistorySchema,
    });
    if (reply) send(conn, { type: "history", messages: reply.body.items, hasMore: reply.body.hasMore });
  }

  /** New messages in seq order (see seq-order.ts); a held one goes out within SEQ_HOLD_MS at the latest. */
  private broadcastMessage(message: Message) {
    return this.life.broadcast(message, envOf(this.room.env).SEQ_HOLD_MS);
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
    const room = (await this.life.store()).id;
    // Read first: a response sent before the request body was read resets the connection.
    const body = await req.json().catch(() => null);
    const debug = debugAction(req, this.room.env);
    // Development and test only (debug.ts), like the API's /dev/boom: proves party errors reach Sentry.
    if (debug === "boom") throw new Error("party boom: internal detail");
    if (debug === "rebuild") await this.life.rebuild();
    if (debug) return json({ instance: this.instance, rebuilds: this.life.rebuilds, requestId });
    const header = req.headers.get("x-petrel-debug");
    const commitHook = header && isDevEnvironment(this.room.env) ? this.commits.debug(header) : undefined;
    if (commitHook) return commitHook; // development and test only (group-commit.ts)
    const parsed = PushSchema.safeParse(body);
    if (!parsed.success) return json({ error: "invalid push", requestId }, 400);
    const push = parsed.data;
    partyLog.info("push", { party: "chat", room, type: push.type, requestId });
    if (push.type === "message") await this.broadcastMessage(push.message);
    if (push.type === "disconnect") closeMatching(this.room, push);
    if (push.type === "recheck") await recheckAccess(this.room, room);
    if (push.type === "room_deleted") closeAll(this.room, CLOSE.roomDeleted, "room deleted");
    if (push.type !== "message") await this.life.settle();
    return json({ ok: true, requestId });
  }
}

/** The `clientId` of a `message` frame, for the error frame that answers it (API.md v1.1). */
function answering(frame: unknown): { clientId?: string } {
  const f = frame as { type?: unknown; clientId?: unknown } | null;
  return f?.type === "message" && typeof f.clientId === "string" ? { clientId: f.clientId } : {};
}
