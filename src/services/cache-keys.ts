import { eq } from "drizzle-orm";
import type { CacheKey } from "../adapters/cache.ts";
import type { Config } from "../config.ts";
import type { ServiceContext } from "../context/service-context.ts";
import { messages, rooms } from "../db/schema.ts";
import type { PublicUser } from "./identity/users.ts";
import type { OrgView } from "./orgs/orgs.ts";
import type { OrgRole } from "./orgs/rbac.ts";
import type { listMessages } from "./rooms/messages.ts";
import type { RoomView } from "./rooms/rooms.ts";

/**
 * What the hot reads are cached under, and which writes make them stale. Each cached document
 * names the versions ("deps") it was computed from; a write bumps the dep, never the entries.
 *
 * | document                          | deps                                   | bumped by |
 * |-----------------------------------|----------------------------------------|-----------|
 * | GET /v1/me                        | user                                   | profile, email verified, admin role/disable, OAuth link, account deletion |
 * | GET /v1/orgs/:id (per caller role)| org                                    | org update/delete |
 * | room list (per user, role, page)  | org rooms, the user's reads in the org | room create/update/delete, room members, new/deleted messages; read positions |
 * | latest message page (per limit)   | room messages                          | new/edited/deleted messages, room deletion |
 * | room access grant (room, user)    | room grants, the user's grants         | room update/delete, room members, org deletion; the user's org role change or removal |
 * | org role for the room list        | the user's grants, org                 | the user's org role change or removal; org update/delete |
 *
 * Access grants (src/services/rooms/room-grant.ts) are also bounded in age by REVOCATION_SYNC_MS
 * (`maxAgeMs`): a lost invalidation still applies within the same bound as a revoked session.
 *
 * The caller's org role is part of the org and room-list keys (it is read from the database on
 * every request by requireOrgPermission), so a role change or removal needs no invalidation:
 * the next request reads a different key, or gets 404 before the cache is consulted.
 */
export const dep = {
  user: (userId: string) => `user:${userId}`,
  org: (orgId: string) => `org:${orgId}`,
  orgRooms: (orgId: string) => `rooms:${orgId}`,
  reads: (orgId: string, userId: string) => `reads:${orgId}:${userId}`,
  roomMessages: (roomId: string) => `msgs:${roomId}`,
  roomGrants: (roomId: string) => `grants:room:${roomId}`,
  userGrants: (userId: string) => `grants:user:${userId}`,
};

export const cacheKeys = {
  me: (config: Config, userId: string): CacheKey<PublicUser> => ({
    ns: "me",
    id: userId,
    ttlSeconds: config.CACHE_TTL_ME,
    deps: [dep.user(userId)],
  }),
  org: (config: Config, orgId: string, role: OrgRole): CacheKey<OrgView> => ({
    ns: "org",
    id: `${orgId}:${role}`,
    ttlSeconds: config.CACHE_TTL_ORG,
    deps: [dep.org(orgId)],
  }),
  rooms: (
    config: Config,
    q: { orgId: string; userId: string; role: OrgRole; limit: number; cursor?: string | undefined },
  ): CacheKey<{ items: RoomView[]; nextCursor: string | null }> => ({
    ns: "rooms",
    id: `${q.orgId}:${q.userId}:${q.role}:${q.limit}:${q.cursor ?? ""}`,
    ttlSeconds: config.CACHE_TTL_ROOMS,
    deps: [dep.orgRooms(q.orgId), dep.reads(q.orgId, q.userId)],
  }),
  latestMessages: (
    config: Config,
    roomId: string,
    limit: number,
  ): CacheKey<Awaited<ReturnType<typeof listMessages>>> => ({
    ns: "msgs",
    id: `${roomId}:${limit}`,
    ttlSeconds: config.CACHE_TTL_MESSAGES,
    deps: [dep.roomMessages(roomId)],
  }),
};

/**
 * A cached right (a room grant, an org role): kept in Redis about as long as a revocation may
 * take to apply, and never served once older than REVOCATION_SYNC_MS (0: never cached).
 */
export function grantKey<T>(config: Config, ns: string, id: string, deps: string[]): CacheKey<T> {
  return {
    ns,
    id,
    ttlSeconds: Math.max(1, Math.ceil(config.REVOCATION_SYNC_MS / 1000)),
    maxAgeMs: config.REVOCATION_SYNC_MS,
    deps,
  };
}

/** Bump deps after a write (awaited: read-your-writes). Never throws: see Cache.invalidate. */
export async function invalidate(ctx: Pick<ServiceContext, "cache">, ...deps: string[]): Promise<void> {
  await ctx.cache?.invalidate(...deps);
}

/**
 * Deps of what a user's account deletion changes besides their profile: their messages are
 * deleted with them (ON DELETE CASCADE), which changes latest pages and room lists.
 */
export async function depsOfUserContent(ctx: Pick<ServiceContext, "db">, userId: string): Promise<string[]> {
  const rows = await ctx.db
    .selectDistinct({ roomId: messages.roomId, orgId: rooms.orgId })
    .from(messages)
    .innerJoin(rooms, eq(rooms.id, messages.roomId))
    .where(eq(messages.authorId, userId));
  return [...new Set(rows.flatMap((r) => [dep.roomMessages(r.roomId), dep.orgRooms(r.orgId)]))];
}
