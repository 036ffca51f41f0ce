import { eq } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { users } from "../../db/schema.ts";
import { nowIso } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { auditInsert } from "../ops/audit.ts";
import { conflictFrom, getUser, toPublicUser } from "./users.ts";

export async function updateProfile(
  ctx: ServiceContext,
  userId: string,
  patch: { name?: string; handle?: string },
) {
  if (patch.name === undefined && patch.handle === undefined) return toPublicUser(await getUser(ctx, userId));
  try {
    await ctx.db.batch([
      ctx.db
        .update(users)
        .set({ ...patch, name: patch.name?.trim(), updatedAt: nowIso() })
        .where(eq(users.id, userId)),
      auditInsert(ctx, {
        action: "user.updated",
        actorId: userId,
        targetType: "user",
        targetId: userId,
        metadata: { fields: Object.keys(patch) },
      }),
    ]);
  } catch (err) {
    throw conflictFrom(err) ?? err;
  }
  await invalidate(ctx, dep.user(userId)); // cache: GET /v1/me
  return toPublicUser(await getUser(ctx, userId));
}
