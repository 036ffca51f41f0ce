import { z } from "@hono/zod-openapi";
import { createRouter, errorResponses, jsonResponse, route } from "../../http/openapi.ts";
import { readyRateLimit } from "../../middleware/rate-limit.ts";
import { checkReadiness } from "../../services/ops/health.ts";

const CheckSchema = z
  .object({
    ok: z.boolean(),
    latencyMs: z.number(),
    mode: z.string().optional(),
  })
  .openapi("DependencyCheck");
const ReadySchema = z
  .object({
    status: z.enum(["ok", "degraded", "down"]),
    checks: z.object({
      database: CheckSchema,
      cache: CheckSchema,
      storage: CheckSchema,
      realtime: CheckSchema,
    }),
  })
  .openapi("Readiness");

const health = route({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness",
  description: "Answers 200 while the Worker runs. Touches no dependency.",
  responses: {
    200: {
      description: "Alive",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
  },
});

const ready = route({
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  summary: "Readiness",
  description:
    "Checks every dependency with a timeout. 200 unless the database is down (503); " +
    "`degraded` when the cache, storage or realtime is down. Why a check failed is logged, never " +
    "answered. Rate-limited per client IP (`READY_RATE_LIMIT` per minute): each call reaches every dependency.",
  middleware: [readyRateLimit()],
  responses: {
    200: {
      description: "Ready (possibly degraded)",
      content: { "application/json": { schema: ReadySchema } },
    },
    503: jsonResponse("The database is down", ReadySchema),
    ...errorResponses(429),
  },
});

export const healthRoutes = createRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(ready, async (c) => {
    c.header("Cache-Control", "no-store");
    const { report, failures } = await checkReadiness(c.var.ctx, c.var.config.READY_TIMEOUT_MS);
    for (const [dependency, error] of Object.entries(failures))
      c.var.log.warn("readiness check failed", { dependency, error });
    return report.status === "down" ? c.json(report, 503) : c.json(report, 200);
  });
