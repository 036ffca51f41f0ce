import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ZodError } from "zod";
import type { AppEnv } from "../env.ts";
import { ApiError, DependencyError, type ErrorCode, type FieldError, statusToCode } from "../lib/errors.ts";
import { createLogger, errorFields } from "../lib/log.ts";
import { problem, problemResponse } from "../lib/problem.ts";
import { reportError } from "./request-context.ts";

function findInChain<T>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    if (cur instanceof type) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function zodFieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
}

function requestIdOf(c: Context<AppEnv>): string {
  return c.get("requestId") ?? crypto.randomUUID();
}

// The problem code of each answered error, for the access log.
const codes = new WeakMap<Context<AppEnv>, ErrorCode>();
export const errorCodeOf = (c: Context<AppEnv>) => codes.get(c);

/** Headers of a framework HTTPException worth keeping on our problem document. */
const KEPT_HEADERS = ["www-authenticate", "retry-after", "allow"];

/**
 * The only place that turns anything thrown into problem+json. Expected errors (ApiError 4xx,
 * validation, Hono's own 4xx) are answered as they are and never reported. Everything that
 * ends in a 5xx is logged and reported to Sentry exactly once: a dependency failure becomes a
 * 503 with Retry-After, anything else a 500 that says only `internal` and the request id.
 */
export const onError: ErrorHandler<AppEnv> = async (err, c) => {
  const requestId = requestIdOf(c);
  const respond = (code: ErrorCode, res: Response) => {
    codes.set(c, code);
    res.headers.set("X-Request-Id", requestId);
    // Headers that middleware set with c.header() before the failure (RateLimit-*) live in
    // Hono's prepared headers; reading c.res makes Hono carry them into this response.
    void c.res;
    return res;
  };
  const log = c.get("log") ?? createLogger("error", { requestId });

  if (err instanceof ApiError) {
    if (err.status >= 500) {
      log.error("request failed", { code: err.code, ...errorFields(err) });
      await reportError(c, err, { code: err.code });
    }
    const body = problem(err.code, requestId, { detail: err.detail, errors: err.errors });
    return respond(err.code, problemResponse(body, err.headers));
  }
  if (err instanceof ZodError) {
    const body = problem("validation_failed", requestId, { errors: zodFieldErrors(err) });
    return respond("validation_failed", problemResponse(body));
  }
  const dep = findInChain(err, DependencyError);
  if (dep) {
    log.error("dependency unavailable", { dependency: dep.dependency, ...errorFields(dep.cause) });
    await reportError(c, err, { dependency: dep.dependency });
    const body = problem("dependency_unavailable", requestId, {
      detail: `The ${dep.dependency} is temporarily unavailable. Retry later.`,
    });
    return respond(
      "dependency_unavailable",
      problemResponse(body, { "Retry-After": String(dep.retryAfter) }),
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx (malformed JSON, 415, body limit, ...): keep the status, use our envelope.
    const mapped = statusToCode(err.status);
    const code: ErrorCode = mapped === "internal" ? "validation_failed" : mapped;
    const detail = err.status === 400 ? err.message || "Malformed request." : undefined;
    const headers: Record<string, string> = {};
    const original = err.getResponse().headers;
    for (const h of KEPT_HEADERS) {
      const v = original.get(h);
      if (v) headers[h] = v;
    }
    return respond(code, problemResponse(problem(code, requestId, { detail, status: err.status }), headers));
  }
  // Before the request context exists (e.g. a ConfigError naming a missing variable) there is no
  // request logger yet: log through a plain one so the cause is never lost.
  log.error("unhandled error", { ...errorFields(err), stack: err instanceof Error ? err.stack : undefined });
  await reportError(c, err);
  return respond("internal", problemResponse(problem("internal", requestId)));
};

export const onNotFound: NotFoundHandler<AppEnv> = (c) => {
  codes.set(c, "not_found");
  const res = problemResponse(
    problem("not_found", requestIdOf(c), {
      detail: `No route for ${c.req.method} ${new URL(c.req.url).pathname}`,
    }),
  );
  res.headers.set("X-Request-Id", requestIdOf(c));
  return res;
};
