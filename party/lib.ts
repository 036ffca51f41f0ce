import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type * as Party from "partykit/server";
import { collectingContext, createSentry } from "../src/lib/sentry.ts";
import { SessionCheckSchema } from "../src/shared/internal-api.schema.ts";
import {
  DEFAULT_MAX_FRAMES_PER_SECOND,
  MAX_FRAME_BYTES,
  remoteKeys,
  SERVICE_AUTH_HEADER,
  type ServerFrame,
  verifyTicket,
} from "../src/shared/realtime.ts";

/** Identity headers the edge worker sets after verifying a ticket (any client-sent copy is dropped). */
const USER_HEADER = "x-petrel-user-id";
const SESSION_HEADER = "x-petrel-session-id";

export interface PartyEnv {
  API_URL: string;
  /** The API's public JWK Set (JSON, or already parsed by the CLI). Without it, keys come from the API's JWKS endpoint. */
  JWT_PUBLIC_JWKS?: string | JSONWebKeySet;
  JWT_ISSUER?: string;
  SERVICE_TOKEN: string;
  MAX_FRAMES_PER_SECOND?: string;
  /** Sentry for party errors; off when unset. */
  SENTRY_DSN?: string;
  SENTRY_RELEASE?: string;
  ENVIRONMENT?: string;
}

let localKeys: { source: unknown; keys: JWTVerifyGetKey } | undefined;
function ticketKeys(env: PartyEnv): JWTVerifyGetKey {
  const source = env.JWT_PUBLIC_JWKS;
  if (!source) return remoteKeys(env.API_URL);
  if (localKeys?.source !== source) {
    const jwks = typeof source === "string" ? (JSON.parse(source) as JSONWebKeySet) : source;
    localKeys = { source, keys: createLocalJWKSet(jwks) };
  }
  return localKeys.keys;
}

export const envOf = (env: Record<string, unknown>) => env as unknown as PartyEnv;
export const apiUrl = (env: Record<string, unknown>) => envOf(env).API_URL.replace(/\/$/, "");

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Constant-time comparison (hand-written: a few lines, WebCrypto's timingSafeEqual is not in this workerd). */
function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/**
 * Party.Worker.onBeforeRequest: HTTP into a room is the API's service channel. Only GET (health)
 * is open; everything else needs the service credential, which no user token can satisfy.
 */
export function checkServiceRequest(req: Party.Request, lobby: Party.Lobby): Party.Request | Response {
  if (req.method === "GET") return req;
  const expected = envOf(lobby.env).SERVICE_TOKEN;
  const got = req.headers.get(SERVICE_AUTH_HEADER);
  if (typeof expected !== "string" || expected.length < 32 || !got || !timingSafeEqual(got, expected)) {
    return json({ error: "unauthorized" }, 401);
  }
  return req;
}

/**
 * Party.Worker.onBeforeConnect: verify the ticket before the socket opens. The channel must be
 * exactly this room's; the identity comes from the ticket only.
 */
export async function admitWithTicket(
  req: Party.Request,
  lobby: Party.Lobby,
  channelFor: (roomId: string) => string,
): Promise<Party.Request | Response> {
  const ticket = new URL(req.url).searchParams.get("ticket");
  if (!ticket) return json({ error: "missing ticket" }, 401);
  const env = envOf(lobby.env);
  const claims = await verifyTicket(ticket, ticketKeys(env), { issuer: env.JWT_ISSUER ?? env.API_URL });
  if (!claims) return json({ error: "invalid or expired ticket" }, 401);
  if (claims.channel !== channelFor(lobby.id)) return json({ error: "ticket is for another channel" }, 403);
  const headers = new Headers(req.headers);
  headers.set(USER_HEADER, claims.userId);
  headers.set(SESSION_HEADER, claims.sessionId);
  return new Request(req as unknown as Request, { headers }) as unknown as Party.Request;
}

export function identityOf(ctx: Party.ConnectionContext) {
  return {
    userId: ctx.request.headers.get(USER_HEADER) ?? "",
    sessionId: ctx.request.headers.get(SESSION_HEADER) ?? "",
  };
}

export interface ConnState {
  userId: string;
  sessionId: string;
}

export function send(conn: Party.Connection, frame: ServerFrame) {
  try {
    conn.send(JSON.stringify(frame));
  } catch {
    // socket already closing
  }
}

/** A call to the API's internal routes with the service credential and a timeout. */
export async function callApi(
  env: Record<string, unknown>,
  path: string,
  init: { method?: string; body?: unknown; requestId?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${apiUrl(env)}${path}`, {
    method: init.method ?? "GET",
    headers: {
      [SERVICE_AUTH_HEADER]: envOf(env).SERVICE_TOKEN,
      "x-request-id": init.requestId ?? crypto.randomUUID(),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/**
 * Per-connection guard: frames over 16 KiB close the socket with 1009, more than N frames in a
 * second (MAX_FRAMES_PER_SECOND, default 40) with 1008. Returns false when the socket was closed.
 */
export class FrameGuard {
  private windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;
  constructor(env: Record<string, unknown>) {
    this.max =
      Number(envOf(env).MAX_FRAMES_PER_SECOND ?? DEFAULT_MAX_FRAMES_PER_SECOND) ||
      DEFAULT_MAX_FRAMES_PER_SECOND;
  }
  admit(conn: Party.Connection, message: string | ArrayBuffer | ArrayBufferView): boolean {
    const size = typeof message === "string" ? new TextEncoder().encode(message).length : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      conn.close(1009, "frame too large");
      return false;
    }
    const now = Date.now();
    const w = this.windows.get(conn.id);
    if (!w || now - w.start >= 1000) {
      this.windows.set(conn.id, { start: now, count: 1 });
      return true;
    }
    if (++w.count > this.max) {
      conn.close(1008, "too many frames");
      return false;
    }
    return true;
  }
  forget(conn: Party.Connection) {
    this.windows.delete(conn.id);
  }
}

/**
 * Revoked sessions reach open sockets: while anyone is connected, ask the API every few seconds
 * which of the connected sessions were revoked, and close those sockets.
 */
export class RevocationWatch {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly room: Party.Room;
  private readonly intervalMs: number;
  constructor(room: Party.Room, intervalMs = 3000) {
    this.room = room;
    this.intervalMs = intervalMs;
  }
  start() {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  async check() {
    const conns = [...this.room.getConnections<ConnState>()];
    if (conns.length === 0) return this.stop();
    const sessionIds = [
      ...new Set(conns.map((c) => c.state?.sessionId).filter((s): s is string => Boolean(s))),
    ];
    try {
      const res = await callApi(this.room.env, "/v1/internal/sessions/check", {
        method: "POST",
        body: { sessionIds },
      });
      if (res.status !== 200) return;
      // A reply that does not parse closes nothing and is logged; the next tick asks again.
      const parsed = SessionCheckSchema.safeParse(res.body);
      if (!parsed.success) return partyLog("warn", "malformed API reply", { route: "sessions/check" });
      const revoked = new Set(parsed.data.revoked);
      for (const c of conns) if (c.state && revoked.has(c.state.sessionId)) c.close(1008, "session revoked");
    } catch {
      // API unreachable: try again next tick
    }
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** The caller's request id (the API's publisher sends it), or a fresh one; same rule as the API. */
export function requestIdOf(req: { headers: { get(name: string): string | null } }): string {
  const id = req.headers.get("x-request-id");
  return id && REQUEST_ID.test(id) ? id : crypto.randomUUID();
}

/** One JSON line per notable event, like the API's logs (partykit prints them). */
export function partyLog(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export interface ErrorScope {
  party: string;
  room: string;
  requestId: string;
  userId?: string;
}

/**
 * Log a party error and send it to Sentry (when SENTRY_DSN is set), tagged with the party, the
 * room and the request id that also appears in the API's logs and in the client's error frame.
 */
export async function reportPartyError(env: Record<string, unknown>, err: unknown, scope: ErrorScope) {
  const e = err instanceof Error ? err : new Error(String(err));
  partyLog("error", "party error", { ...scope, error: e.name, errorMessage: e.message });
  const { SENTRY_DSN: dsn, ENVIRONMENT, SENTRY_RELEASE } = envOf(env);
  if (!dsn) return;
  try {
    const { context, flush } = collectingContext();
    const sentry = createSentry({
      dsn,
      context,
      environment: ENVIRONMENT ?? "development",
      release: SENTRY_RELEASE,
    });
    sentry.setTags({
      runtime: "partykit",
      party: scope.party,
      room: scope.room,
      request_id: scope.requestId,
    });
    if (scope.userId) sentry.setUser({ id: scope.userId });
    sentry.captureException(e);
    await flush();
  } catch {
    // reporting must never break the party
  }
}

/** A `disconnect` push: close the sockets of these users or sessions in this room. */
export function closeMatching(
  room: Party.Room,
  push: { userIds?: string[]; sessionIds?: string[]; reason: string },
) {
  for (const c of room.getConnections<ConnState>()) {
    const s = c.state;
    if (s && (push.userIds?.includes(s.userId) || push.sessionIds?.includes(s.sessionId)))
      c.close(1008, push.reason);
  }
}
