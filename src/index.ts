import { Hono } from "hono";
import { isolateRedisRoundTrips } from "./adapters/kv.ts";
import { createApp } from "./app.ts";
import { isolateDatabaseRoundTrips } from "./db/client.ts";
import type { Bindings } from "./env.ts";
import { scheduledFileCleanup, scheduledWebhookSweep, webhookQueueBatch } from "./jobs.ts";
import type { DeliveryMessage } from "./services/webhooks/dispatch.ts";

const app = createApp();

// The benchmark's baselines: a bare Hono route in the same Worker, with none of the app's
// middleware, and streamed R2-binding put/get (the files scenario's comparison point).
// Answer only when BENCH_ROUTES=on (set by `npm run bench`, never deployed).
const bare = new Hono<{ Bindings: Bindings }>()
  .get("/bench/bare", (c) => c.text("ok"))
  // Round trips this isolate made so far, counted in the adapters: the bench divides the growth
  // over a phase by the messages of that phase (everything the API did meanwhile is included).
  .get("/bench/costs", (c) => c.json({ db: isolateDatabaseRoundTrips(), redis: isolateRedisRoundTrips() }))
  .put("/bench/r2/:key", async (c) => {
    if (!c.req.header("content-length")) return c.text("Content-Length required", 411);
    await c.env.FILES.put(`bench/${c.req.param("key")}`, c.req.raw.body);
    return c.body(null, 204);
  })
  .get("/bench/r2/:key", async (c) => {
    const obj = await c.env.FILES.get(`bench/${c.req.param("key")}`);
    return obj ? c.body(obj.body, 200, { "Content-Length": String(obj.size) }) : c.notFound();
  });
const isBenchRoute = (url: string) =>
  url.endsWith("/bench/bare") || url.endsWith("/bench/costs") || url.includes("/bench/r2/");

export default {
  fetch(request, env, ctx) {
    if ((env as { BENCH_ROUTES?: string }).BENCH_ROUTES === "on" && isBenchRoute(request.url)) {
      return bare.fetch(request, env, ctx);
    }
    return app.fetch(request, env, ctx);
  },
  async scheduled(controller, env, ctx) {
    // wrangler.toml [triggers]: "* * * * *" sweeps the webhook outbox (the cron's scheduled time
    // is its clock), "*/15 * * * *" removes expired pending uploads.
    if (controller.cron === "* * * * *")
      ctx.waitUntil(scheduledWebhookSweep(env, ctx, controller.scheduledTime));
    else ctx.waitUntil(scheduledFileCleanup(env));
  },
  async queue(batch, env, ctx) {
    await webhookQueueBatch(batch as MessageBatch<DeliveryMessage>, env, ctx);
  },
} satisfies ExportedHandler<Bindings>;

export type { App } from "./app.ts";
