import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { ServiceContext } from "../../context/service-context.ts";
import { now } from "../../db/schema.ts";
import { uuidv7 } from "../../lib/ids.ts";
import { enqueueDeliveries } from "./dispatch.ts";
import { subscriptions } from "./endpoints.ts";
import type { WebhookEventType } from "./event-types.ts";

/** Outbox statements for one change: appended to the change's own batch, then dispatched. */
export interface OutboxWrite {
  statements: BatchItem<"sqlite">[];
  deliveryIds: string[];
}
const NONE: OutboxWrite = Object.freeze({ statements: [], deliveryIds: [] }) as OutboxWrite;

/**
 * The transactional outbox: the statements that record `type` for `orgId`, to be run in the
 * same batch as the change, so the event exists if and only if the change committed. `data`
 * is a SQL expression yielding the event's `data` as JSON (see payloads.ts), evaluated inside
 * that transaction: the payload is a snapshot at commit. Place it after the statement that
 * writes the row it reads, or before the one that deletes it.
 *
 * `when`, if given, is a condition checked in the same transaction: the event is written only
 * if it holds (e.g. that a conditional update really changed the row).
 *
 * Nothing for an org without an endpoint subscribed to `type` (read from the cache; a stale
 * entry is harmless: the delivery insert joins the endpoints as they are at commit).
 */
export async function webhookEvents(
  ctx: ServiceContext,
  orgId: string,
  type: WebhookEventType,
  data: SQL,
  when?: SQL,
): Promise<OutboxWrite> {
  const subs = (await subscriptions(ctx, orgId)).filter((s) => s.events.includes(type));
  if (subs.length === 0) return NONE;
  const eventId = uuidv7();
  return eventStatements(ctx, { eventId, orgId, type, data, when, endpointIds: subs.map((s) => s.id) });
}

/** The event row and one delivery per endpoint that still exists, is enabled and subscribes to `type`. */
export function eventStatements(
  ctx: Pick<ServiceContext, "db">,
  e: {
    eventId: string;
    orgId: string;
    type: string;
    data: SQL;
    when?: SQL | undefined;
    endpointIds: string[];
    anyType?: boolean;
  },
): OutboxWrite {
  const deliveries = e.endpointIds.map((endpointId) => ({ id: uuidv7(), endpointId }));
  const values = sql.join(
    deliveries.map((d) => sql`(${d.id}, ${d.endpointId})`),
    sql`, `,
  );
  const subscribed = e.anyType
    ? sql`1`
    : sql`exists (select 1 from json_each(e.events) where value = ${e.type})`;
  return {
    statements: [
      ctx.db.run(sql`insert into webhook_events (id, org_id, type, payload, created_at)
        select ${e.eventId}, ${e.orgId}, ${e.type}, json_object('id', ${e.eventId}, 'type', ${e.type},
          'orgId', ${e.orgId}, 'createdAt', ${now}, 'data', json(${e.data})), ${now}
        where ${e.when ?? sql`1`}`),
      ctx.db.run(sql`insert into webhook_deliveries (id, event_id, endpoint_id)
        select v.column1, ${e.eventId}, v.column2 from (values ${values}) v
        join webhook_endpoints e on e.id = v.column2
        where e.org_id = ${e.orgId} and e.disabled_at is null and ${subscribed}
          and exists (select 1 from webhook_events where id = ${e.eventId})`),
    ],
    deliveryIds: deliveries.map((d) => d.id),
  };
}

/**
 * A batch whose outbox statements come first (a snapshot before a delete): db.batch's type wants
 * a leading statement, and `last` is always there.
 */
export function beforeChange<T extends BatchItem<"sqlite">>(write: OutboxWrite, ...last: [T, ...T[]]) {
  return [...write.statements, ...last] as unknown as [T, ...BatchItem<"sqlite">[]];
}

/** After the batch committed: hand its deliveries to the queue once the response is out. */
export function dispatchWebhooks(ctx: ServiceContext, ...writes: OutboxWrite[]): void {
  const ids = writes.flatMap((w) => w.deliveryIds);
  if (ids.length > 0) ctx.defer(enqueueDeliveries(ctx, ids));
}
