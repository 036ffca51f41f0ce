import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { getConfig } from "../config.ts";
import { createServices } from "../context/container.ts";
import { createServiceContext, type RequestMeta } from "../context/service-context.ts";
import type { AppEnv } from "../env.ts";
import { countTrips } from "../lib/costs.ts";
import { createLogger } from "../lib/log.ts";
import { requestIdOr } from "../lib/request-id.ts";
import { lazySentry, type SentryContext, scrubValue } from "../lib/sentry.ts";

/** Echo a well-formed incoming X-Request-Id, else generate one (hand-written: hono's
 * requestId middleware accepts a different character set than our contract). Set on the final
 * response only (onError and notFound set it on theirs): a header set before the handler runs
 * would make Hono copy it into every response. */
export const requestId = () =>
  createMiddleware<AppEnv>(async function requestId(c, next) {
    const id = requestIdOr(c.req.header("x-request-id"));
    c.set("requestId", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  });

/**
 * Responses whose 5xx status is the answer itself, not a failure: readiness reports a
 * dependency that is down (the dependency's own errors are what matter, and they are logged).
 */
const EXPECTED_5XX = new Set(["/ready"]);

/**
 * Configuration, logger, Sentry and services for this request. Everything here is cheap to
 * build and lazy: clients (database, Redis, storage…), the request's meta data and the Sentry
 * client are made on first use, so a route that needs none of them (GET /health) pays for none.
 */
export const requestContext = () =>
  createMiddleware<AppEnv>(async function requestContext(c, next) {
    const config = getConfig(c.env);
    const requestId = c.get("requestId");
    c.set("config", config);
    const log = createLogger(config.LOG_LEVEL, { requestId });
    c.set("log", log);
    c.set("auth", null);
    const execution = executionContext(c);
    const sentry = config.SENTRY_DSN
      ? lazySentry({
          dsn: config.SENTRY_DSN,
          context: execution,
          request: c.req.raw,
          environment: config.ENVIRONMENT,
          release: config.SENTRY_RELEASE,
        })
      : undefined;
    sentry?.setTag("request_id", requestId);
    c.set("sentry", sentry);
    const services = createServices(config, c.env, log);
    c.set("services", services);
    c.set(
      "ctx",
      createServiceContext({
        services,
        config,
        log,
        meta: requestMeta(c.req.raw, requestId),
        defer: (work) => {
          try {
            execution!.waitUntil(work);
          } catch {
            void work; // no execution context (plain app.request in a script): let it run
          }
        },
      }),
    );
    if (config.COST_HEADERS === "on") {
      await countTrips(services.trips, next);
      const { db, redis } = services.costs();
      c.res.headers.set("X-Petrel-Cost", `db=${db}, redis=${redis}`);
    } else {
      await next();
    }
    // A 5xx that a handler returned instead of throwing is still an error worth seeing, once.
    if (c.res.status >= 500 && !reported.has(c) && !EXPECTED_5XX.has(c.req.path)) {
      reported.add(c);
      tagRoute(c);
      sentry?.captureMessage(`${c.req.method} ${routePath(c, -1)} answered ${c.res.status}`, "error");
    }
  });

/** Who is calling and from where, read from the request's headers when a service first asks. */
function requestMeta(request: Request, requestId: string): RequestMeta {
  let ip: string | null | undefined;
  let userAgent: string | null | undefined;
  return {
    requestId,
    get ip() {
      if (ip === undefined) ip = request.headers.get("cf-connecting-ip");
      return ip;
    },
    get userAgent() {
      if (userAgent === undefined) userAgent = request.headers.get("user-agent");
      return userAgent;
    },
  };
}

function executionContext(c: Context<AppEnv>): SentryContext | undefined {
  try {
    return c.executionCtx as unknown as SentryContext;
  } catch {
    return undefined; // no ExecutionContext (app.request in a script): events are sent unawaited
  }
}

function tagRoute(c: Context<AppEnv>) {
  c.get("sentry")?.setTag("route", `${c.req.method} ${routePath(c, -1)}`);
}

// Requests whose failure was already reported: every error is captured exactly once.
const reported = new WeakSet<Context<AppEnv>>();

/**
 * Report an error of this request to Sentry, at most once per request, with the route, any
 * extra tags, and the JSON body when one was read (scrubbed of passwords, tokens and emails).
 * The user id is on the scope already (set by authenticate()).
 */
export async function reportError(
  c: Context<AppEnv>,
  err: unknown,
  tags: Record<string, string> = {},
): Promise<void> {
  const sentry = c.get("sentry");
  if (!sentry || reported.has(c)) return;
  reported.add(c);
  tagRoute(c);
  for (const [k, v] of Object.entries(tags)) sentry.setTag(k, v);
  const body = await jsonBodyRead(c);
  if (body !== undefined) sentry.setRequestBody(scrubValue(body));
  sentry.captureException(err);
}

/** The JSON body, only if something already read it (never starts reading a stream here). */
async function jsonBodyRead(c: Context<AppEnv>): Promise<unknown> {
  const cached = c.req.bodyCache.text;
  if (!cached) return undefined;
  try {
    return JSON.parse(await cached);
  } catch {
    return undefined;
  }
}
