import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../env.ts";
import { errorCodeOf } from "./error-handler.ts";

/**
 * One JSON line per request: the request id (from the logger's base fields), method, route
 * pattern (never the raw path, which carries ids and tokens), status, duration, user id, cache
 * result and, for errors, the problem code. No query string, headers or bodies. Below
 * LOG_LEVEL=info the line would be dropped: nothing is measured or assembled for it.
 */
export const accessLog = () =>
  createMiddleware<AppEnv>(async function accessLog(c, next) {
    const level = c.get("config")?.LOG_LEVEL;
    if (level !== "info" && level !== "debug") return next();
    const start = performance.now();
    await next();
    const status = c.res.status;
    c.get("log")?.info("request", {
      method: c.req.method,
      route: routePath(c, -1),
      status,
      durationMs: Math.round((performance.now() - start) * 100) / 100,
      userId: c.get("auth")?.userId,
      cache: c.get("cacheStatus") ?? c.res.headers.get("x-cache") ?? undefined,
      code: status >= 400 ? errorCodeOf(c) : undefined,
    });
  });
