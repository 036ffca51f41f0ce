import { and, eq, gte, inArray, isNull, lt } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { memberships, webhookEndpoints } from "../../db/schema.ts";
import { errorFields } from "../../lib/log.ts";
import { createNotifications } from "../notifications/notifications.ts";
import { auditInsert } from "../ops/audit.ts";
import { invalidateSubscriptions } from "./endpoints.ts";
import { DISABLE_AFTER_FAILURES, DISABLE_AFTER_MS } from "./event-types.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The disable rule: DISABLE_AFTER_FAILURES failed attempts in a row whose first lies more than
 * DISABLE_AFTER_MS before `nowMs`. The condition is checked in the update itself, so only one
 * of several concurrent attempts disables (and notifies). The org's admins and owners get a
 * `webhook_disabled` notification; the audit log records it (actor: none, the system).
 */
export async function disableIfFailing(
  ctx: ServiceContext,
  endpoint: { id: string; orgId: string; url: string },
  nowMs: number,
) {
  const reason = `${DISABLE_AFTER_FAILURES} failed attempts in a row over more than ${DISABLE_AFTER_MS / 60_000} minutes`;
  const [disabled, admins] = await ctx.db.batch([
    ctx.db
      .update(webhookEndpoints)
      .set({ disabledAt: iso(nowMs), disabledReason: reason, updatedAt: iso(nowMs) })
      .where(
        and(
          eq(webhookEndpoints.id, endpoint.id),
          isNull(webhookEndpoints.disabledAt),
          gte(webhookEndpoints.failureStreak, DISABLE_AFTER_FAILURES),
          lt(webhookEndpoints.failingSince, iso(nowMs - DISABLE_AFTER_MS)),
        ),
      )
      .returning({ id: webhookEndpoints.id }),
    ctx.db
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.orgId, endpoint.orgId), inArray(memberships.role, ["owner", "admin"]))),
  ]);
  if (disabled.length === 0) return false;
  await invalidateSubscriptions(ctx, endpoint.orgId);
  ctx.log.warn("webhook endpoint disabled", { endpointId: endpoint.id, orgId: endpoint.orgId });
  const data = { orgId: endpoint.orgId, endpointId: endpoint.id, url: endpoint.url, reason };
  await auditInsert(ctx, {
    action: "webhook.disabled",
    targetType: "webhook",
    targetId: endpoint.id,
    orgId: endpoint.orgId,
    metadata: data,
  });
  await createNotifications(
    ctx,
    admins.map((a) => ({ userId: a.userId, type: "webhook_disabled" as const, data })),
  ).catch((err) => ctx.log.error("webhook disabled notifications failed", errorFields(err)));
  return true;
}
