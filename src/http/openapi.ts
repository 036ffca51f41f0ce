import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { bodyGuard } from "../middleware/body-guard.ts";

/** problem+json, declared once and referenced by every route's error responses. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ example: "validation_failed" }),
    detail: z.string().optional(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

/** A page of a list (`{ items, nextCursor }`, see PageQuerySchema), named as an OpenAPI component. */
export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

export const problemContent = { "application/problem+json": { schema: ProblemSchema } } as const;

export function errorResponses<S extends number>(...statuses: S[]) {
  const descriptions: Record<number, string> = {
    400: "Validation failed",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed",
    404: "Not found or not visible to you",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Rate limited (see Retry-After)",
    503: "A dependency is unavailable (see Retry-After)",
  };
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s] ?? "Error", content: problemContent }]),
  ) as Record<S, { description: string; content: typeof problemContent }>;
}

/** One factory for routers: validation failures become our 400 problem document. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("validation_failed", "The request is invalid.", {
          errors: result.error.issues.map((i) => ({
            path: i.path.map(String).join(".") || "(root)",
            message: i.message,
          })),
        });
      }
    },
  });
}

export type Router = ReturnType<typeof createRouter>;

/** Credentials are small: 1,024-character passwords stay under this even fully \u-escaped. */
export const AUTH_BODY_LIMIT = 16 * 1024;
/** A 4,000-character message body, \u-escaped, plus ten attachment ids. */
export const MESSAGE_BODY_LIMIT = 32 * 1024;

/** A JSON request body (required). */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true as const,
});

/** A JSON response. */
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

type RouteLimits = {
  /**
   * Most bytes the body may have (the configured MAX_BODY_BYTES caps it, and is the default), or
   * "stream" for a route that reads its body as a stream and limits it itself (file uploads).
   */
  bodyLimit?: number | "stream";
};

/**
 * createRoute(), plus what the route's definition must say about itself: a route that takes a
 * body gets its body guard (limit + JSON hygiene, src/middleware/body-guard.ts) first in its
 * middleware, built once here; the limit is documented as `x-body-limit`.
 */
export function route<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R & RouteLimits,
) {
  const { bodyLimit, ...rest } = config;
  const own = rest.middleware === undefined ? [] : ([] as MiddlewareHandler[]).concat(rest.middleware);
  const takesBody = rest.request?.body !== undefined || bodyLimit !== undefined;
  const guard = takesBody && bodyLimit !== "stream" ? [bodyGuard(bodyLimit)] : [];
  const documented = typeof bodyLimit === "number" ? { "x-body-limit": bodyLimit } : {};
  // The type stays the caller's R: every middleware added here is AppEnv's, like the route's own.
  return createRoute({ ...rest, ...documented, middleware: [...guard, ...own] } as unknown as R);
}
