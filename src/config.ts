import { z } from "zod";

/**
 * Configuration, parsed once per isolate from the Worker's bindings. Every value that
 * is not a binding object (R2, etc.) is declared here; a missing or malformed one fails
 * with a message naming it (see `ConfigError`).
 */
const csv = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s && s.trim() !== "" ? s.trim() : undefined));
const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

export const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  LIBSQL_URL: z.url(),
  LIBSQL_AUTH_TOKEN: optionalString,
  UPSTASH_REDIS_REST_URL: optionalString.pipe(z.url().optional()),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  PARTYKIT_URL: z.url(),
  PUBLIC_API_URL: z.url(),
  APP_URL: z.url(),
  CORS_ORIGINS: csv,
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  JWT_PRIVATE_KEYS: z.string().min(2, "must be a JSON array of private JWKs (npm run keys:generate)"),
  SERVER_SECRET: z.string().min(32, "must be at least 32 characters of random data"),
  SERVICE_TOKEN: z.string().min(32, "must be at least 32 characters of random data"),
  SENTRY_DSN: optionalString.pipe(z.url().optional()),
  SENTRY_RELEASE: optionalString,
  /** Timeouts for outbound calls, in milliseconds. */
  DB_TIMEOUT_MS: intFrom(3000, 50, 30_000),
  REDIS_TIMEOUT_MS: intFrom(300, 20, 10_000),
  PARTYKIT_TIMEOUT_MS: intFrom(2000, 50, 30_000),
  READY_TIMEOUT_MS: intFrom(1500, 50, 30_000),
  /** Default body limit for JSON routes. */
  MAX_BODY_BYTES: intFrom(64 * 1024, 1024, 10 * 1024 * 1024),
});

export type Config = z.infer<typeof ConfigSchema> & {
  redisConfigured: boolean;
  isDev: boolean;
};

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

export function parseConfig(source: Record<string, unknown>): Config {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = source[key];
    if (typeof v === "string" || typeof v === "number") values[key] = v;
  }
  const parsed = ConfigSchema.safeParse(values);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join(".") || "(root)";
        return source[name] === undefined || source[name] === ""
          ? `${name} is missing`
          : `${name} ${i.message}`;
      }),
    );
  }
  const c = parsed.data;
  if (c.UPSTASH_REDIS_REST_URL && !c.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError(["UPSTASH_REDIS_REST_TOKEN is missing (required with UPSTASH_REDIS_REST_URL)"]);
  }
  return {
    ...c,
    redisConfigured: Boolean(c.UPSTASH_REDIS_REST_URL),
    isDev: c.ENVIRONMENT === "development" || c.ENVIRONMENT === "test",
  };
}

const cache = new WeakMap<object, Config>();
/** Parse once per isolate: the env object is stable for the isolate's lifetime. */
export function getConfig(env: object): Config {
  let c = cache.get(env);
  if (!c) {
    c = parseConfig(env as Record<string, unknown>);
    cache.set(env, c);
  }
  return c;
}
