import type { Config } from "../../config.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { dep, grantKey } from "../cache-keys.ts";
import { type RoomAccess, type RoomRow, roomAccess } from "./rooms.ts";

/**
 * A user's access to a room without the room's message counter (`lastSeq` changes with every
 * post): the part of RoomAccess that may be cached. Routes that need `lastSeq` (read positions,
 * the room itself) load the full RoomAccess.
 */
export type RoomGrant = Omit<RoomAccess, "room"> & { room: Omit<RoomRow, "lastSeq"> };

/**
 * Cached per room and user, invalidated by every change of who may see the room (room update,
 * deletion, room members, org deletion; the user's org role change or removal), and never older
 * than REVOCATION_SYNC_MS whatever invalidation reached this isolate: a demotion applies
 * everywhere within the same bound as a revoked session. REVOCATION_SYNC_MS=0: never cached.
 */
export const roomGrantKey = (config: Config, roomId: string, userId: string) =>
  grantKey<RoomGrant>(config, "grant", `${roomId}:${userId}`, [
    dep.roomGrants(roomId),
    dep.userGrants(userId),
  ]);

/** roomAccess() through the read cache: 404 (never cached) when the user may not see the room. */
export async function roomGrant(
  ctx: Pick<ServiceContext, "db" | "cache" | "config">,
  roomId: string,
  userId: string,
): Promise<RoomGrant> {
  const load = async (): Promise<RoomGrant> => {
    const { room, ...rest } = await roomAccess(ctx, roomId, userId);
    const { lastSeq: _volatile, ...stable } = room;
    return { ...rest, room: stable };
  };
  if (!ctx.cache) return load();
  return (await ctx.cache.json(roomGrantKey(ctx.config, roomId, userId), load)).value();
}
