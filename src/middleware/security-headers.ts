import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env.ts";

/**
 * Response headers for an API that only speaks JSON: HSTS, nosniff, never framed, no referrer,
 * and a CSP that allows nothing. A handler that needs another policy (the /docs page sets its
 * own strict CSP for Scalar) keeps it: `overwrite: false` only fills in what is missing.
 */
export const securityHeaders = () =>
  secureHeaders({
    strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-origin",
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
    overwrite: false,
  });

export const CORS_ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-Request-Id",
  "X-Auth-Mode",
  "If-None-Match",
];
export const CORS_EXPOSE_HEADERS = [
  "X-Request-Id",
  "ETag",
  "X-Cache",
  "Retry-After",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
];

// One cors() per allow-list (configuration is per isolate, so this map stays tiny).
const byAllowList = new WeakMap<
  readonly string[],
  { allowed: Set<string>; preflight: MiddlewareHandler<AppEnv> }
>();
const EXPOSE = CORS_EXPOSE_HEADERS.join(",");

/**
 * CORS with an explicit allow-list from CORS_ORIGINS (credentials allowed, since the cookie
 * flow needs them). Only an allow-listed Origin is echoed; `Vary: Origin` is always sent so a
 * shared cache never serves one origin's answer to another. Preflights go to hono's cors();
 * other requests get the same headers it would send, written once onto the final response.
 * Hand-written for those: hono's cors() writes them onto a placeholder response before the
 * handler runs, which costs two extra Response and Headers copies on every request.
 */
export const corsAllowList = () =>
  createMiddleware<AppEnv>(async function corsAllowList(c, next) {
    const origins = c.get("config").CORS_ORIGINS;
    let policy = byAllowList.get(origins);
    if (!policy) {
      const allowed = new Set(origins);
      const preflight = cors({
        origin: (origin) => (allowed.has(origin) ? origin : null),
        allowHeaders: CORS_ALLOW_HEADERS,
        exposeHeaders: CORS_EXPOSE_HEADERS,
        credentials: true,
        maxAge: 600,
      }) as MiddlewareHandler<AppEnv>;
      policy = { allowed, preflight };
      byAllowList.set(origins, policy);
    }
    if (c.req.method === "OPTIONS") return policy.preflight(c, next);
    const origin = c.req.header("origin");
    await next();
    const headers = c.res.headers;
    if (origin && policy.allowed.has(origin)) headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Credentials", "true");
    headers.set("Access-Control-Expose-Headers", EXPOSE);
    headers.append("Vary", "Origin");
  });
