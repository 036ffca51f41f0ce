import { and, asc, eq, inArray, isNull, lt } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { webhookDeliveries } from "../../db/schema.ts";
import { errorFields } from "../../lib/log.ts";

/** What a queue message carries: the delivery to attempt (everything else is read at attempt time). */
export interface DeliveryMessage {
  deliveryId: string;
}

/** Queues takes at most 100 messages per sendBatch. */
const SEND_BATCH = 100;
/** The sweep leaves younger deliveries to the drain that is probably still running for them. */
export const SWEEP_GRACE_MS = 30_000;
const SWEEP_LIMIT = 1000;

/**
 * Hand deliveries to the queue. Never throws: a delivery that did not make it (queue
 * unavailable, the isolate gone) is still `enqueued_at IS NULL` and unclaimed, and the cron
 * sweep sends it. A delivery still waiting in a backed-up queue after the grace period may be
 * sent twice to the queue; the consumer's claim and status make the second copy a no-op.
 */
export async function enqueueDeliveries(
  ctx: Pick<ServiceContext, "db" | "log" | "webhookQueue">,
  ids: string[],
  opts: { mark?: boolean; nowMs?: number } = {},
): Promise<number> {
  const nowMs = opts.nowMs ?? Date.now();
  const queue = ctx.webhookQueue;
  if (!queue) {
    ctx.log.warn("webhook queue not bound: deliveries wait for the sweep", { deliveries: ids.length });
    return 0;
  }
  let sent = 0;
  try {
    for (let i = 0; i < ids.length; i += SEND_BATCH) {
      const chunk = ids.slice(i, i + SEND_BATCH);
      await queue.sendBatch(chunk.map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage })));
      // Marked enqueued by the consumer's claim (no round trip here, on the write path); the
      // sweep marks what it sends, so it does not send it again every minute.
      if (opts.mark) {
        await ctx.db
          .update(webhookDeliveries)
          .set({ enqueuedAt: new Date(nowMs).toISOString() })
          .where(and(inArray(webhookDeliveries.id, chunk), isNull(webhookDeliveries.enqueuedAt)));
      }
      sent += chunk.length;
    }
  } catch (err) {
    ctx.log.warn("webhook enqueue failed; the cron sweep will retry", errorFields(err));
  }
  return sent;
}

/**
 * The cron sweep: pending deliveries that never reached the queue (a crash between commit and
 * enqueue, the queue down) and are older than the grace period. `nowMs` is the cron's
 * scheduled time, so tests can run a sweep "a minute later" without waiting.
 */
export async function sweepOutbox(ctx: Pick<ServiceContext, "db" | "log" | "webhookQueue">, nowMs: number) {
  const before = new Date(nowMs - SWEEP_GRACE_MS).toISOString();
  const rows = await ctx.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        isNull(webhookDeliveries.enqueuedAt),
        lt(webhookDeliveries.createdAt, before),
      ),
    )
    .orderBy(asc(webhookDeliveries.id))
    .limit(SWEEP_LIMIT);
  if (rows.length === 0) return 0;
  return enqueueDeliveries(
    ctx,
    rows.map((r) => r.id),
    { mark: true, nowMs },
  );
}
