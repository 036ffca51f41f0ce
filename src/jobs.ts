import { getConfig } from "./config.ts";
import { createServices } from "./context/container.ts";
import { createServiceContext, type ServiceContext } from "./context/service-context.ts";
import { createLogger, errorFields } from "./lib/log.ts";
import { cleanupExpiredUploads } from "./services/files/files-access.ts";
import { attemptDeliveries, markDeliveryFailed } from "./services/webhooks/deliver.ts";
import { type DeliveryMessage, sweepOutbox } from "./services/webhooks/dispatch.ts";

/** The cron entry (wrangler.toml [triggers]): clean up abandoned uploads. */
export async function scheduledFileCleanup(env: Cloudflare.Env): Promise<void> {
  const config = getConfig(env);
  const log = createLogger(config.LOG_LEVEL, { job: "files-cleanup" });
  try {
    const services = createServices(config, env, log); // the same factory as requests
    const removed = await cleanupExpiredUploads({ db: services.database.db, storage: services.storage, log });
    if (removed) log.info("abandoned uploads removed", { removed });
  } catch (err) {
    log.error("files cleanup failed", errorFields(err));
  }
}

/** A ServiceContext for work outside a request (cron, queue), from the same factories. */
function jobContext(env: Cloudflare.Env, job: string, ctx: ExecutionContext): ServiceContext {
  const config = getConfig(env);
  const log = createLogger(config.LOG_LEVEL, { job });
  return createServiceContext({
    services: createServices(config, env, log),
    config,
    log,
    meta: { ip: null, userAgent: null, requestId: `${job}-${crypto.randomUUID()}` },
    defer: (work) => ctx.waitUntil(work),
  });
}

/** The cron entry, every minute: outbox deliveries that never reached the queue are sent now. */
export async function scheduledWebhookSweep(env: Cloudflare.Env, ctx: ExecutionContext, nowMs: number) {
  const job = jobContext(env, "webhooks-sweep", ctx);
  try {
    const sent = await sweepOutbox(job, nowMs);
    if (sent) job.log.info("webhook outbox swept", { sent });
  } catch (err) {
    job.log.error("webhook sweep failed", errorFields(err));
  }
}

/** Queues' backoff for a failed attempt: WEBHOOK_RETRY_BASE_SECONDS, doubling, at most 12 h. */
export const retryDelaySeconds = (base: number, attempts: number) =>
  Math.min(43_200, base * 2 ** Math.max(0, attempts - 1));

/**
 * The queue consumer (wrangler.toml [[queues.consumers]]): one attempt per message (a batch is
 * claimed, sent and recorded together, src/services/webhooks/deliver.ts), retried by
 * Queues with backoff until max_retries, then the dead-letter queue, whose messages only mark
 * the delivery failed. `clock` is injectable so tests can run the disable rule over hours.
 */
export async function webhookQueueBatch(
  batch: MessageBatch<DeliveryMessage>,
  env: Cloudflare.Env,
  ctx: ExecutionContext,
  clock: () => number = Date.now,
) {
  const job = jobContext(env, "webhooks-deliver", ctx);
  const deadLetters = batch.queue.includes("-dlq");
  const base = job.config.WEBHOOK_RETRY_BASE_SECONDS;
  const retry = (m: Message<DeliveryMessage>) =>
    m.retry({ delaySeconds: retryDelaySeconds(base, m.attempts) });
  try {
    if (deadLetters) {
      for (const m of batch.messages) {
        await markDeliveryFailed(job, m.body.deliveryId);
        m.ack();
      }
      return;
    }
    const outcomes = await attemptDeliveries(
      job,
      batch.messages.map((m) => m.body.deliveryId),
      clock(),
    );
    for (const m of batch.messages) {
      if (outcomes.get(m.body.deliveryId) === "retry") retry(m);
      else m.ack();
    }
  } catch (err) {
    job.log.error("webhook delivery batch errored", { messages: batch.messages.length, ...errorFields(err) });
    for (const m of batch.messages) retry(m);
  }
}
