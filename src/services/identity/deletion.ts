import { and, eq, inArray } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { memberships, orgs, users } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { dep, depsOfUserContent, invalidate } from "../cache-keys.ts";
import { auditInsert } from "../ops/audit.ts";
import { isGuardFailure, keepAnOwner } from "../orgs/orgs.ts";
import { revokeSessions } from "./sessions.ts";

export async function deleteAccount(ctx: ServiceContext, userId: string) {
  const owned = await ctx.db
    .select({ orgId: memberships.orgId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.role, "owner")));
  const soleOrgs: string[] = [];
  for (const { orgId } of owned) {
    const members = await ctx.db
      .select({ userId: memberships.userId, role: memberships.role })
      .from(memberships)
      .where(eq(memberships.orgId, orgId));
    const otherOwners = members.filter((m) => m.userId !== userId && m.role === "owner");
    if (members.length > 1 && otherOwners.length === 0) {
      throw new ApiError(
        "conflict",
        "You own an organization with other members: transfer ownership first.",
        { errors: [{ path: "orgId", message: orgId }] },
      );
    }
    if (members.length === 1) soleOrgs.push(orgId);
  }
  await revokeSessions(ctx, { userId, reason: "account_deleted", actorId: userId, audit: null });
  const cached = await depsOfUserContent(ctx, userId); // cache: their messages go with them
  // Orgs the user co-owns must still have an owner once the user's memberships are gone (checked
  // inside the transaction, so a co-owner leaving at the same moment cannot orphan the org).
  const shared = owned.map((o) => o.orgId).filter((id) => !soleOrgs.includes(id));
  await ctx.db
    .batch([
      ctx.db.delete(orgs).where(inArray(orgs.id, soleOrgs.length ? soleOrgs : [""])),
      ctx.db.delete(users).where(eq(users.id, userId)),
      auditInsert(ctx, { action: "user.deleted", actorId: userId, targetType: "user", targetId: userId }),
      ...shared.map((orgId) => keepAnOwner(ctx, orgId)),
    ])
    .catch((err) => {
      if (isGuardFailure(err, "orgs.name"))
        throw new ApiError(
          "conflict",
          "You own an organization with other members: transfer ownership first.",
        );
      throw err;
    });
  await invalidate(ctx, dep.user(userId), ...cached);
}
