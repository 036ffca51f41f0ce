import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { webhookAttempts, webhookDeliveries, webhookEvents } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { uuidv7 } from "../../lib/ids.ts";
import { enqueueDeliveries } from "./dispatch.ts";
import { type Actor, loadEndpoint } from "./endpoints.ts";
import { TEST_EVENT } from "./event-types.ts";
import { eventStatements } from "./outbox.ts";
import { payload } from "./payloads.ts";

export interface AttemptView {
  id: string;
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}
export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: "pending" | "succeeded" | "failed";
  createdAt: string;
  lastAttemptAt: string | null;
  /** Every attempt, oldest first. */
  attempts: AttemptView[];
}

/** An endpoint's deliveries, newest first, each with all its attempts (one round trip). */
export async function listDeliveries(
  ctx: ServiceContext,
  orgId: string,
  endpointId: string,
  limit: number,
  cursor?: string,
) {
  await loadEndpoint(ctx, orgId, endpointId);
  const conds = [eq(webhookDeliveries.endpointId, endpointId)];
  if (cursor) conds.push(lt(webhookDeliveries.id, cursor));
  const page = ctx.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(...conds))
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit + 1);
  const [rows, attempts] = await ctx.db.batch([
    ctx.db
      .select({ d: webhookDeliveries, type: webhookEvents.type })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(and(...conds))
      .orderBy(desc(webhookDeliveries.id))
      .limit(limit + 1),
    ctx.db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, page))
      .orderBy(asc(webhookAttempts.at), asc(webhookAttempts.id)),
  ]);
  const byDelivery = new Map<string, typeof attempts>();
  for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
  const items: DeliveryView[] = rows.slice(0, limit).map(({ d, type }) => ({
    id: d.id,
    eventId: d.eventId,
    eventType: type,
    status: d.status,
    createdAt: d.createdAt,
    lastAttemptAt: d.lastAttemptAt,
    attempts: (byDelivery.get(d.id) ?? []).map((a) => ({
      id: a.id,
      at: a.at,
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      error: a.error,
    })),
  }));
  return { items, nextCursor: rows.length > limit ? items[limit - 1]!.id : null };
}

const pendingView = (id: string, eventId: string, eventType: string): DeliveryView => ({
  id,
  eventId,
  eventType,
  status: "pending",
  createdAt: new Date().toISOString(),
  lastAttemptAt: null,
  attempts: [],
});

function enabledOrConflict(e: { disabledAt: string | null }) {
  if (e.disabledAt)
    throw new ApiError("conflict", "The endpoint is disabled: enable it first (PATCH enabled: true).");
}

/** Send an event again to the endpoint: a new delivery with the same event, so the same `webhook-id`. */
export async function replayDelivery(
  ctx: ServiceContext,
  actor: Actor,
  endpointId: string,
  deliveryId: string,
) {
  enabledOrConflict(await loadEndpoint(ctx, actor.orgId, endpointId));
  const [original] = await ctx.db
    .select({ eventId: webhookDeliveries.eventId, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)));
  if (!original) throw new ApiError("not_found", "No such delivery.");
  const id = uuidv7();
  await ctx.db.insert(webhookDeliveries).values({ id, eventId: original.eventId, endpointId });
  ctx.defer(enqueueDeliveries(ctx, [id]));
  return pendingView(id, original.eventId, original.type);
}

/** A `webhook.test` event, to this endpoint only, whatever it subscribes to. */
export async function sendTestEvent(ctx: ServiceContext, actor: Actor, endpointId: string) {
  enabledOrConflict(await loadEndpoint(ctx, actor.orgId, endpointId));
  const eventId = uuidv7();
  const write = eventStatements(ctx, {
    eventId,
    orgId: actor.orgId,
    type: TEST_EVENT,
    data: payload.test(endpointId),
    endpointIds: [endpointId],
    anyType: true,
  });
  const [first, ...rest] = write.statements;
  await ctx.db.batch([first!, ...rest]);
  ctx.defer(enqueueDeliveries(ctx, write.deliveryIds));
  return pendingView(write.deliveryIds[0]!, eventId, TEST_EVENT);
}
