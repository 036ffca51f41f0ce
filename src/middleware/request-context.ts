import { createMiddleware } from "hono/factory";
import { Toucan } from "toucan-js";
import { getConfig } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { createLogger } from "../lib/log.ts";
import { createServices } from "../services/container.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Echo a well-formed incoming X-Request-Id, else generate one (hand-written: hono's
 * requestId middleware accepts a different character set than our contract). */
export const requestId = () =>
  createMiddleware<AppEnv>(async function requestId(c, next) {
    const incoming = c.req.header("x-request-id");
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  });

/** Configuration, logger, Sentry and services for this request. */
export const requestContext = () =>
  createMiddleware<AppEnv>(async function requestContext(c, next) {
    const config = getConfig(c.env);
    c.set("config", config);
    const log = createLogger(config.LOG_LEVEL, { requestId: c.var.requestId });
    c.set("log", log);
    c.set("auth", null);
    c.set(
      "sentry",
      config.SENTRY_DSN
        ? createToucan(config.SENTRY_DSN, c.executionCtx as ToucanContext, c.req.raw, config, c.var.requestId)
        : undefined,
    );
    c.set("services", createServices(config, c.env, log));
    await next();
  });

// toucan-js is typed against its own copy of @cloudflare/workers-types.
type ToucanContext = NonNullable<ConstructorParameters<typeof Toucan>[0]["context"]>;

const SCRUB_KEYS = /pass(word)?|token|secret|authorization|cookie|code|ticket/i;

function createToucan(
  dsn: string,
  ctx: ToucanContext,
  request: Request,
  config: ReturnType<typeof getConfig>,
  requestId: string,
) {
  const sentry = new Toucan({
    dsn,
    context: ctx,
    request,
    environment: config.ENVIRONMENT,
    release: config.SENTRY_RELEASE,
    // Never send credentials: no headers beyond a safe list, no cookies, no bodies.
    requestDataOptions: {
      allowedHeaders: ["user-agent", "content-type", "x-request-id"],
      allowedCookies: [],
    },
    beforeSend(event) {
      if (event.request) {
        delete event.request.cookies;
        delete event.request.data;
        if (event.request.query_string) event.request.query_string = "[scrubbed]";
      }
      if (event.extra) {
        for (const k of Object.keys(event.extra)) if (SCRUB_KEYS.test(k)) event.extra[k] = "[scrubbed]";
      }
      return event;
    },
  });
  sentry.setTag("request_id", requestId);
  return sentry;
}
