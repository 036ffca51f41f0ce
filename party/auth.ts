import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type * as Party from "partykit/server";
import { remoteKeys, SERVICE_AUTH_HEADER, verifyTicket } from "../src/shared/realtime.ts";
import { envOf, type PartyEnv } from "./env.ts";
import { json } from "./transport.ts";

/** Identity headers the edge worker sets after verifying a ticket (any client-sent copy is dropped). */
const USER_HEADER = "x-petrel-user-id";
const SESSION_HEADER = "x-petrel-session-id";

/**
 * Who is behind a socket (set from the ticket on connect), and what the room must remember about
 * it across hibernation (party/lifecycle.ts). PartyKit serializes it, connect URL included, on
 * every setState: short fields, one setState per frame at most.
 */
export interface ConnState {
  userId: string;
  sessionId: string;
  /** Last heartbeat (ms): the presence lease runs from here. */
  beatAt?: number;
  /** The highest message seq the client acknowledged having received (read-ack). */
  readSeq?: number;
  /** Flood guard: start (ms) and frame count of the current one-second window. */
  win?: number;
  hits?: number;
  /** Last typing broadcast (ms), for the throttle. */
  typedAt?: number;
}

let localKeys: { source: JSONWebKeySet; keys: JWTVerifyGetKey } | undefined;
function ticketKeys(env: PartyEnv): JWTVerifyGetKey {
  const source = env.JWT_PUBLIC_JWKS;
  if (!source) return remoteKeys(env.API_URL);
  if (localKeys?.source !== source) localKeys = { source, keys: createLocalJWKSet(source) };
  return localKeys.keys;
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
  // SERVICE_TOKEN is at least 32 characters (party/env.ts): no short or empty credential matches.
  if (!got || !timingSafeEqual(got, expected)) {
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

export function identityOf(ctx: Party.ConnectionContext): ConnState {
  return {
    userId: ctx.request.headers.get(USER_HEADER) ?? "",
    sessionId: ctx.request.headers.get(SESSION_HEADER) ?? "",
  };
}

/** Party.Server.getConnectionTags: sockets are tagged with their user, so per-user lookups are O(1). */
export function userTag(ctx: Party.ConnectionContext): string[] {
  const userId = ctx.request.headers.get(USER_HEADER);
  return userId ? [userId] : [];
}
