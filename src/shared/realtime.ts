/**
 * The realtime protocol, shared by the API (src/), the PartyKit servers (party/) and clients/tests.
 * Frames are flat JSON objects `{ type, ...fields }`; every frame received is parsed with these schemas.
 * This module must stay free of Hono and of anything Worker-specific: party/ bundles it too.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { z } from "zod";
import { ID_SOURCE, IdSchema as Id } from "../lib/ids.ts";
import { text } from "../lib/text.ts";
import { MessageSchema } from "./message.schema.ts";
import { NotificationSchema } from "./notification.schema.ts";

export const REALTIME_AUDIENCE = "petrel-realtime";
export const TICKET_TYP = "rt+jwt";
export const TICKET_MAX_TTL_SECONDS = 60;
export const MAX_FRAME_BYTES = 16 * 1024;
export const DEFAULT_MAX_FRAMES_PER_SECOND = 40;
export const TYPING_THROTTLE_MS = 2000;
export const SERVICE_AUTH_HEADER = "x-petrel-service-token";
export const DEFAULT_MAX_SOCKETS_PER_USER = 5;
/** How often a party re-checks its connected users' access to the room (a missed push is caught). */
export const DEFAULT_ACCESS_RECHECK_SECONDS = 30;
/** Presence lease: a socket with no heartbeat for this long is closed and leaves presence. */
export const DEFAULT_PRESENCE_LEASE_SECONDS = 30;
/** Slow consumer: a socket that has not acknowledged this many newer messages is closed (4001). */
export const DEFAULT_MAX_UNACKED_MESSAGES = 1000;
/** How often a party asks the API which of its connected sessions were revoked. */
export const DEFAULT_SESSION_CHECK_SECONDS = 3;
/** Sessions a party could not verify for this long (the check kept failing) are closed (4000). */
export const DEFAULT_SESSION_FAIL_CLOSED_SECONDS = 30;
/** How long a client shows a typing indicator after the last `typing` frame of that user. */
export const TYPING_TTL_MS = 4000;
/** Close codes beyond 1008 (policy: flood, revoked session) and 1009 (frame too large). */
export const CLOSE = {
  /** Access revoked or lost: fetch a new ticket; a 404 there means stop. */
  accessLost: 4000,
  /** Slow consumer (messages not acknowledged) or no heartbeat within the lease: reconnect and sync. */
  slowConsumer: 4001,
  /** Too many sockets for this user in this room: back off. */
  tooManySockets: 4002,
  /** The room was deleted: do not reconnect. */
  roomDeleted: 4003,
} as const;
export const CHAT_PARTY = "chat";
export const USER_PARTY = "notifications";

/** Client → server. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("message"),
      clientId: z.uuid(),
      body: text({ max: 4000 }),
      attachments: z.array(Id).max(10).optional(),
    })
    .strict(),
  z.object({ type: z.literal("typing") }).strict(),
  z.object({ type: z.literal("sync"), afterSeq: z.number().int().min(0) }).strict(),
  /**
   * Renews the presence lease; `seq` (the highest message seq received on this socket) is the
   * read-acknowledgement that keeps a reading client from being closed as a slow consumer.
   */
  z.object({ type: z.literal("heartbeat"), seq: z.number().int().min(0).optional() }).strict(),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/**
 * Server → client; clients parse every frame with it. Not strict: fields a later server adds
 * are dropped, not refused.
 */
export const ServerFrameSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("welcome"),
    userId: Id,
    presence: z.array(Id),
    lastSeq: z.number().int().min(0),
    /** Send `heartbeat` this often; the lease lasts `leaseSeconds` after the last one. */
    heartbeatSeconds: z.number().positive().optional(),
    leaseSeconds: z.number().positive().optional(),
    /** Send a `heartbeat {seq}` after receiving this many messages (read-ack), even between beats. */
    ackEvery: z.number().int().min(1).optional(),
  }),
  z.object({ type: z.literal("message"), message: MessageSchema }),
  z.object({ type: z.literal("ack"), clientId: z.string(), id: Id, seq: z.number().int().min(1) }),
  /** Show "typing" for `ttlMs` (unless renewed or the user leaves). */
  z.object({ type: z.literal("typing"), userId: Id, ttlMs: z.number().int().min(0).optional() }),
  /** v1.0 full list; servers since v1.1 send `welcome` + `presence_diff` instead. */
  z.object({ type: z.literal("presence"), users: z.array(Id) }),
  /** v1.1: who came (first socket) and who left (last socket closed, or its lease ran out). */
  z.object({ type: z.literal("presence_diff"), joined: z.array(Id), left: z.array(Id) }),
  z.object({ type: z.literal("history"), messages: z.array(MessageSchema), hasMore: z.boolean() }),
  z.object({ type: z.literal("notification"), notification: NotificationSchema }),
  z.object({
    type: z.literal("error"),
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
    /** The `clientId` of the `message` frame this error answers. */
    clientId: z.string().optional(),
    /** `rate_limited`: seconds until the budget allows another message. */
    retryAfter: z.number().int().min(0).optional(),
  }),
]);
export type ServerFrame = z.output<typeof ServerFrameSchema>;

/** API → party pushes (HTTP POST with the service credential). */
export const PushSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message"), message: MessageSchema }),
  z.object({ type: z.literal("notification"), notification: NotificationSchema }),
  /** Close these users' sockets in this room (removed from the room, session revoked...). */
  z.object({
    type: z.literal("disconnect"),
    userIds: z.array(Id).optional(),
    sessionIds: z.array(z.string()).optional(),
    reason: z.string(),
  }),
  /** Who may see the room may have changed (role, visibility, membership): re-check everyone connected. */
  z.object({ type: z.literal("recheck") }),
  /** The room is gone: close every socket (4003). */
  z.object({ type: z.literal("room_deleted") }),
]);
export type Push = z.infer<typeof PushSchema>;

export type Channel = { kind: "room"; roomId: string } | { kind: "user" };
export const ChannelSchema = z.union([
  z.literal("user"),
  z.string().regex(new RegExp(`^room:${ID_SOURCE}$`)),
]);

export interface TicketClaims {
  userId: string;
  sessionId: string;
  /** "room:<roomId>" or "user:<userId>" */
  channel: string;
}

const jwksByUrl = new Map<string, JWTVerifyGetKey>();
/** The API's public keys, fetched from its JWKS and cached (jose refreshes on unknown kid). */
export function remoteKeys(apiUrl: string): JWTVerifyGetKey {
  const url = `${apiUrl.replace(/\/$/, "")}/.well-known/jwks.json`;
  let keys = jwksByUrl.get(url);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000, cooldownDuration: 5000 });
    jwksByUrl.set(url, keys);
  }
  return keys;
}

/** Verify a realtime ticket: signature (EdDSA only), issuer, audience, typ, expiry and lifetime. */
export async function verifyTicket(
  ticket: string,
  keys: JWTVerifyGetKey,
  opts: { issuer: string },
): Promise<TicketClaims | null> {
  try {
    const { payload } = await jwtVerify(ticket, keys, {
      algorithms: ["EdDSA"],
      issuer: opts.issuer,
      audience: REALTIME_AUDIENCE,
      typ: TICKET_TYP,
      requiredClaims: ["exp", "iat", "sub", "sid", "ch"],
      clockTolerance: 5,
    });
    const { sub, sid, ch, exp, iat } = payload as {
      sub?: unknown;
      sid?: unknown;
      ch?: unknown;
      exp?: number;
      iat?: number;
    };
    if (typeof sub !== "string" || typeof sid !== "string" || typeof ch !== "string") return null;
    if (!Number.isFinite(exp) || !Number.isFinite(iat) || exp! - iat! > TICKET_MAX_TTL_SECONDS) return null;
    return { userId: sub, sessionId: sid, channel: ch };
  } catch {
    return null;
  }
}
