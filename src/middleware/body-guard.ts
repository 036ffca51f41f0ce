import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import {
  inspectJson,
  isJsonContentType,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  refuse,
} from "./json-guard.ts";

/** hono's bodyLimit per size, built once per isolate: routes share the few sizes there are. */
const limiters = new Map<number, MiddlewareHandler>();
function limiterFor(maxSize: number): MiddlewareHandler {
  let limiter = limiters.get(maxSize);
  if (!limiter) {
    limiter = bodyLimit({
      maxSize, // bytes on the wire: a chunked body is counted as it streams
      onError: () => {
        throw new ApiError("payload_too_large", "The body exceeds this route's limit.");
      },
    });
    limiters.set(maxSize, limiter);
  }
  return limiter;
}

/** Depth, key count, forbidden keys, lone surrogates (src/middleware/json-guard.ts), before any route code. */
async function checkJson(c: Parameters<MiddlewareHandler<AppEnv>>[0]) {
  if (!c.req.raw.body || !isJsonContentType(c.req.header("content-type"))) return;
  const text = await c.req.text(); // cached by Hono: the route's validator reads the same text
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw refuse({ path: "(root)", message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return; // malformed: the validator answers 400
  }
  const violation = inspectJson(value, MAX_JSON_KEYS);
  if (violation) throw refuse(violation);
}

/**
 * A route's body limit and JSON hygiene, first in its middleware (src/http/openapi.ts `route()`
 * puts it there for every route that takes a body): at most `maxBytes`, capped by the configured
 * MAX_BODY_BYTES, which is also the default.
 */
export function bodyGuard(maxBytes?: number): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async function bodyGuard(c, next) {
    const max = Math.min(maxBytes ?? Number.POSITIVE_INFINITY, c.get("config").MAX_BODY_BYTES);
    await limiterFor(max)(c, async () => {
      await checkJson(c);
      await next();
    });
  });
}
