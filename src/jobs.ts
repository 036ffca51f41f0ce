import { getConfig } from "./config.ts";
import { createServices } from "./context/container.ts";
import { createServiceContext, type ServiceContext } from "./context/service-context.ts";
import { createLogger, errorFields } from "./lib/log.ts";
import { cleanupExpiredUploads } from "./services/files/files-access.ts";
import { attemptDelivery, markDeliveryFailed } from "./services/webhooks/deliver.ts";
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
 * The queue consumer (wrangler.toml [[queues.consumers]]): one attempt per message, retried by
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
  await Promise.all(
    batch.messages.map(async (m) => {
      try {
        if (deadLetters) {
          await markDeliveryFailed(job, m.body.deliveryId);
          m.ack();
          return;
        }
        const outcome = await attemptDelivery(job, m.body.deliveryId, clock());
        if (outcome === "done") m.ack();
        else m.retry({ delaySeconds: retryDelaySeconds(base, m.attempts) });
      } catch (err) {
        job.log.error("webhook delivery errored", { deliveryId: m.body.deliveryId, ...errorFields(err) });
        m.retry({ delaySeconds: retryDelaySeconds(base, m.attempts) });
      }
    }),
  );
}
