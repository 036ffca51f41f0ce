import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

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
