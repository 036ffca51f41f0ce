/**
 * Cursor pagination's query, in plain `zod` (no Hono). The page envelope names an OpenAPI
 * component, so it is built in the HTTP layer: `pageOf` in src/http/openapi.ts.
 */
import { z } from "zod";

/** `?limit=` (1..100, default 50) and `?cursor=`. Digits only: no `1.00` or `+1` aliases. */
export const PageQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^(?:[1-9]\d?|100)$/, "an integer from 1 to 100")
    .transform(Number)
    .optional()
    .meta({ example: "50" }),
  cursor: z.string().min(1).max(200).optional(),
});
