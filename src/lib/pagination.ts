import { z } from "@hono/zod-openapi";

/** `?limit=` (1..100, default 50) and `?cursor=`. Digits only: no `1.00` or `+1` aliases. */
export const PageQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^(?:[1-9]\d?|100)$/, "an integer from 1 to 100")
    .transform(Number)
    .optional()
    .openapi({ example: "50" }),
  cursor: z.string().min(1).max(200).optional(),
});

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}
