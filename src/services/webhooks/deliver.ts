import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { uuidv7 } from "../../lib/ids.ts";
import { disableIfFailing } from "./disable.ts";
import type { EndpointRow } from "./endpoints.ts";
import { decryptSecret } from "./secrets.ts";
import { signatureHeaders } from "./signing.ts";

/** `done`: acknowledge the queue message; `retry`: let Queues try again after a backoff. */
export type Outcome = "done" | "retry";

/** How much of a receiver's answer is read (and kept in the attempt's error). */
export const RESPONSE_CAP_BYTES = 1024;
const iso = (ms: number) => new Date(ms).toISOString();

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < RESPONSE_CAP_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all.slice(0, RESPONSE_CAP_BYTES));
}

async function secretsOf(ctx: ServiceContext, e: EndpointRow, nowMs: number): Promise<string[]> {
  const key = ctx.config.SERVER_SECRET;
  const current = await decryptSecret(key, e.id, e.secretEnc);
  const previousValid = e.previousSecretEnc && e.previousSecretUntil && e.previousSecretUntil > iso(nowMs);
  return previousValid ? [current, await decryptSecret(key, e.id, e.previousSecretEnc!)] : [current];
}

/** One POST: no redirects followed, bounded by WEBHOOK_TIMEOUT_MS, the answer read up to the cap. */
async function send(ctx: ServiceContext, url: string, body: string, headers: Record<string, string>) {
  const timeout = ctx.config.WEBHOOK_TIMEOUT_MS;
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "Petrel-Webhooks/1.0" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeout),
    });
    const excerpt = await readCapped(res);
    const latencyMs = Date.now() - started;
    if (res.status >= 200 && res.status < 300) return { statusCode: res.status, latencyMs, error: null };
    const error =
      res.status >= 300 && res.status < 400
        ? `redirect not followed (HTTP ${res.status})`
        : `HTTP ${res.status}${excerpt ? `: ${excerpt.slice(0, 200)}` : ""}`;
    return { statusCode: res.status, latencyMs, error };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? `timed out after ${timeout} ms` : `request failed: ${String(err)}`.slice(0, 300);
    return { statusCode: null, latencyMs: Date.now() - started, error };
  }
}

type Row = {
  d: typeof webhookDeliveries.$inferSelect;
  payload: string;
  endpoint: EndpointRow;
};
type Result = { statusCode: number | null; latencyMs: number; error: string | null };

async function attempt(ctx: ServiceContext, row: Row, nowMs: number): Promise<Result> {
  const { endpoint, payload } = row;
  if (endpoint.disabledAt) return { statusCode: null, latencyMs: 0, error: "endpoint disabled" };
  const secrets = await secretsOf(ctx, endpoint, nowMs);
  return send(ctx, endpoint.url, payload, await signatureHeaders(row.d.eventId, payload, secrets, nowMs));
}

/** The attempt's record, the delivery's new state and the endpoint's failure streak. */
function record(ctx: ServiceContext, row: Row, result: Result, at: string) {
  const ok = result.error === null;
  const status = ok ? "succeeded" : row.endpoint.disabledAt ? "failed" : "pending";
  const streak = ok
    ? { failureStreak: 0, failingSince: null }
    : {
        failureStreak: sql`${webhookEndpoints.failureStreak} + 1`,
        failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${at})`,
      };
  return {
    status,
    statements: [
      ctx.db.insert(webhookAttempts).values({ id: uuidv7(), deliveryId: row.d.id, at, ...result }),
      ctx.db
        .update(webhookDeliveries)
        .set({
          status,
          attempts: sql`${webhookDeliveries.attempts} + 1`,
          lastAttemptAt: at,
          claimedUntil: null,
        })
        .where(eq(webhookDeliveries.id, row.d.id)),
      ctx.db
        .update(webhookEndpoints)
        .set(streak)
        .where(and(eq(webhookEndpoints.id, row.endpoint.id), isNull(webhookEndpoints.disabledAt))),
    ],
  };
}

/**
 * Attempt the deliveries of one queue batch: one round trip claims and loads them all, the
 * POSTs run in parallel, one round trip records every attempt (so the database cost per
 * delivery shrinks as batches fill). Idempotent: a delivery that already succeeded (or failed
 * for good) is not sent again, and the claim keeps two copies of a message from sending at
 * once. `nowMs` is injectable (tests of the disable rule); latency is measured on the real clock.
 */
export async function attemptDeliveries(
  ctx: ServiceContext,
  ids: string[],
  nowMs: number,
): Promise<Map<string, Outcome>> {
  const claimFor = ctx.config.WEBHOOK_TIMEOUT_MS + 20_000;
  const [claimed, rows] = await ctx.db.batch([
    ctx.db
      .update(webhookDeliveries)
      // Claimed means it reached the queue: the cron sweep leaves it alone from now on.
      .set({
        claimedUntil: iso(nowMs + claimFor),
        enqueuedAt: sql`coalesce(${webhookDeliveries.enqueuedAt}, ${iso(nowMs)})`,
      })
      .where(
        and(
          inArray(webhookDeliveries.id, ids),
          eq(webhookDeliveries.status, "pending"),
          or(isNull(webhookDeliveries.claimedUntil), lt(webhookDeliveries.claimedUntil, iso(nowMs))),
        ),
      )
      .returning({ id: webhookDeliveries.id }),
    ctx.db
      .select({ d: webhookDeliveries, payload: webhookEvents.payload, endpoint: webhookEndpoints })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(inArray(webhookDeliveries.id, ids)),
  ]);
  const mine = new Set(claimed.map((c) => c.id));
  const outcomes = new Map<string, Outcome>(ids.map((id) => [id, "done"])); // gone, delivered or given up
  const todo: Row[] = [];
  for (const row of rows) {
    if (row.d.status !== "pending") continue;
    if (mine.has(row.d.id)) todo.push(row);
    else outcomes.set(row.d.id, "retry"); // another copy is being attempted right now
  }
  if (todo.length === 0) return outcomes;
  const results = await Promise.all(todo.map((row) => attempt(ctx, row, nowMs)));
  const records = todo.map((row, i) => record(ctx, row, results[i]!, iso(nowMs)));
  const [first, ...rest] = records.flatMap((r) => r.statements);
  await ctx.db.batch([first!, ...rest]);
  const failing = new Map<string, EndpointRow>();
  todo.forEach((row, i) => {
    outcomes.set(row.d.id, records[i]!.status === "pending" ? "retry" : "done");
    if (results[i]!.error !== null && !row.endpoint.disabledAt) failing.set(row.endpoint.id, row.endpoint);
  });
  for (const endpoint of failing.values()) await disableIfFailing(ctx, endpoint, nowMs);
  return outcomes;
}

/** The dead-letter queue's consumer: Queues gave up on this delivery. */
export async function markDeliveryFailed(ctx: Pick<ServiceContext, "db">, deliveryId: string) {
  await ctx.db
    .update(webhookDeliveries)
    .set({ status: "failed", claimedUntil: null })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
}
