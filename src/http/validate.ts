import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError } from "../lib/errors.ts";

/** zod validation for plain (non-OpenAPI) routes, failing with our 400 problem document. */
export function validate<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  return validator(target, (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new ApiError("validation_failed", "The request is invalid.", {
        errors: parsed.error.issues.map((i) => ({
          path: i.path.map(String).join(".") || "(root)",
          message: i.message,
        })),
      });
    }
    return parsed.data as z.infer<S>;
  });
}
