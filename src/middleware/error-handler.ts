import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ZodError } from "zod";
import type { AppEnv } from "../env.ts";
import { ApiError, DependencyError, type FieldError, statusToCode } from "../lib/errors.ts";
import { createLogger, errorFields } from "../lib/log.ts";
import { problem, problemResponse } from "../lib/problem.ts";

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

/** The only place that turns anything thrown into problem+json. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const requestId = requestIdOf(c);
  const respond = (res: Response) => {
    res.headers.set("X-Request-Id", requestId);
    return res;
  };

  if (err instanceof ApiError) {
    const body = problem(err.code, requestId, { detail: err.detail, errors: err.errors });
    return respond(problemResponse(body, err.headers));
  }
  if (err instanceof ZodError) {
    return respond(problemResponse(problem("validation_failed", requestId, { errors: zodFieldErrors(err) })));
  }
  const dep = findInChain(err, DependencyError);
  if (dep) {
    c.var.log?.error("dependency unavailable", { dependency: dep.dependency, ...errorFields(dep.cause) });
    c.var.sentry?.captureException(err);
    const body = problem("dependency_unavailable", requestId, {
      detail: `The ${dep.dependency} is temporarily unavailable. Retry later.`,
    });
    return respond(problemResponse(body, { "Retry-After": String(dep.retryAfter) }));
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx (malformed JSON, body limit, ...): keep the status, use our envelope.
    const code = statusToCode(err.status);
    const detail = err.status === 400 ? err.message || "Malformed request." : undefined;
    const body = problem(code, requestId, { detail, status: err.status });
    return respond(problemResponse(body));
  }
  // Before the request context exists (e.g. a ConfigError naming a missing variable) there is no
  // request logger yet: log through a plain one so the cause is never lost.
  const log = c.var.log ?? createLogger("error", { requestId });
  log.error("unhandled error", { ...errorFields(err), stack: err instanceof Error ? err.stack : undefined });
  c.var.sentry?.captureException(err);
  return respond(problemResponse(problem("internal", requestId)));
};

export const onNotFound: NotFoundHandler<AppEnv> = (c) => {
  const res = problemResponse(
    problem("not_found", requestIdOf(c), {
      detail: `No route for ${c.req.method} ${new URL(c.req.url).pathname}`,
    }),
  );
  res.headers.set("X-Request-Id", requestIdOf(c));
  return res;
};
