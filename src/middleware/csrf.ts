import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/**
 * CSRF defence for cookie-authenticated requests: the browser must prove the request comes from
 * an allowed origin. `Origin` (sent by browsers on every POST) must be allow-listed; without it,
 * `Sec-Fetch-Site` must not be cross-site; with neither, the request is refused. Nothing here
 * depends on Content-Type, so a "simple" form or text/plain request cannot slip through.
 */
export function assertSameOrigin(c: Context<AppEnv>): void {
  const config = c.var.config;
  const origin = c.req.header("origin");
  if (origin) {
    const allowed = new Set([
      ...config.CORS_ORIGINS,
      new URL(config.PUBLIC_API_URL).origin,
      new URL(c.req.url).origin,
    ]);
    if (allowed.has(origin)) return;
    throw new ApiError("csrf_failed", `Origin ${origin} is not allowed for cookie-authenticated requests.`);
  }
  const site = c.req.header("sec-fetch-site");
  if (site === "same-origin" || site === "same-site" || site === "none") return;
  throw new ApiError("csrf_failed", "Cookie-authenticated requests must come from an allowed origin.");
}
