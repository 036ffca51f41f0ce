import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../env.ts";

/** One JSON line per request. */
export const accessLog = () =>
  createMiddleware<AppEnv>(async function accessLog(c, next) {
    const start = performance.now();
    await next();
    c.var.log?.info("request", {
      method: c.req.method,
      route: routePath(c, -1),
      status: c.res.status,
      durationMs: Math.round((performance.now() - start) * 100) / 100,
      userId: c.var.auth?.userId,
      cache: c.var.cacheStatus,
    });
  });
