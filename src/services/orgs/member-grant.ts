import type { Config } from "../../config.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { dep, grantKey } from "../cache-keys.ts";
import { findMembership } from "./orgs.ts";
import type { OrgRole } from "./rbac.ts";

/**
 * A user's role in an org through the read cache, for read-only routes (the room list): the same
 * rules as room grants (src/services/rooms/room-grant.ts). Invalidated by the user's role change
 * or removal and by org changes, never older than REVOCATION_SYNC_MS; not being a member is
 * never cached, so joining applies at once.
 */
export const memberGrantKey = (config: Config, orgId: string, userId: string) =>
  grantKey<{ role: OrgRole }>(config, "member", `${orgId}:${userId}`, [
    dep.userGrants(userId),
    dep.org(orgId),
  ]);

class NotAMember extends Error {}

export async function cachedMembership(
  ctx: Pick<ServiceContext, "db" | "cache" | "config">,
  orgId: string,
  userId: string,
): Promise<{ role: OrgRole } | undefined> {
  const load = async () => {
    const m = await findMembership(ctx, orgId, userId);
    if (!m) throw new NotAMember(); // thrown, so never stored
    return { role: m.role };
  };
  try {
    if (!ctx.cache) return await load();
    return (await ctx.cache.json(memberGrantKey(ctx.config, orgId, userId), load)).value();
  } catch (err) {
    if (err instanceof NotAMember) return undefined;
    throw err;
  }
}
