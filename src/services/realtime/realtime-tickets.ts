import { SignJWT } from "jose";
import type { ServiceContext } from "../../context/service-context.ts";
import {
  CHAT_PARTY,
  REALTIME_AUDIENCE,
  TICKET_MAX_TTL_SECONDS,
  TICKET_TYP,
  USER_PARTY,
} from "../../shared/realtime.ts";
import { keyRing } from "../identity/tokens.ts";
import { roomAccess } from "../rooms/rooms.ts";

export const TICKET_TTL_SECONDS = 30;

/**
 * A short-lived ticket for one channel, signed with the API's access-token key (the parties verify it
 * with the published JWKS). The room's visibility is checked now; the party re-checks on every write.
 */
export async function issueTicket(
  ctx: ServiceContext,
  auth: { userId: string; sessionId: string },
  channel: string,
) {
  let party: string;
  let room: string;
  if (channel === "user") {
    party = USER_PARTY;
    room = auth.userId;
  } else {
    const roomId = channel.slice("room:".length);
    await roomAccess(ctx, roomId, auth.userId); // 404 when not visible
    party = CHAT_PARTY;
    room = roomId;
  }
  const ttl = Math.min(TICKET_TTL_SECONDS, TICKET_MAX_TTL_SECONDS);
  const ring = await keyRing(ctx.config);
  const ticket = await new SignJWT({
    sid: auth.sessionId,
    ch: channel === "user" ? `user:${auth.userId}` : channel,
  })
    .setProtectedHeader({ alg: "EdDSA", kid: ring.signingKid, typ: TICKET_TYP })
    .setSubject(auth.userId)
    .setIssuer(ctx.config.JWT_ISSUER)
    .setAudience(REALTIME_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .setJti(crypto.randomUUID())
    .sign(ring.signingKey);
  const base = new URL(ctx.config.PARTYKIT_PUBLIC_URL ?? ctx.config.PARTYKIT_URL);
  const host = base.host;
  const wsScheme = base.protocol === "https:" ? "wss:" : "ws:";
  const url = `${wsScheme}//${host}/parties/${party}/${room}?ticket=${encodeURIComponent(ticket)}`;
  return { url, host, party, room, ticket, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
}
