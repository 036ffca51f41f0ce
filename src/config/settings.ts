import { z } from "zod";

/**
 * Shared by the Worker's configuration (src/config.ts) and the parties' (party/env.ts): settings
 * are parsed with zod once per isolate, and every problem is reported naming its variable.
 */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * For `.transform()`: a setting that holds JSON text, parsed (then `.pipe()` it into its schema);
 * text that is not JSON is refused with `message`.
 */
export const fromJson =
  (message: string) =>
  (text: string, ctx: z.RefinementCtx): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
  };

const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number";

/**
 * Parse the schema's keys out of `source` (bindings hold objects too: only `accept`ed values are
 * read). Problems name the variable: `NAME is missing`, `NAME must …`, or inside a JSON setting
 * `NAME[0][field] …`. A cross-check's own message (code "custom") is kept even when the value is missing.
 */
export function parseSettings<S extends z.ZodObject>(
  schema: S,
  source: Record<string, unknown>,
  accept: (value: unknown) => boolean = isScalar,
): z.output<S> {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    if (accept(source[key])) values[key] = source[key];
  }
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => {
      const [name = "(root)", ...inner] = i.path.map(String);
      const missing = source[name] === undefined || source[name] === "";
      if (missing && i.code !== "custom" && inner.length === 0) return `${name} is missing`;
      return `${name}${inner.map((p) => `[${p}]`).join("")} ${i.message}`;
    }),
  );
}
