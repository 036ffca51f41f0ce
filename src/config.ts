import { z } from "zod";
import { PrivateKeysSchema } from "./config/jwt-keys.ts";
import { OAuthProvidersSchema } from "./config/oauth-providers.ts";
import { parseSettings } from "./config/settings.ts";

export { ConfigError } from "./config/settings.ts";

/**
 * Configuration, parsed once per isolate from the Worker's bindings. Every value that
 * is not a binding object (R2, etc.) is declared here; a missing or malformed one fails
 * with a message naming it (see `ConfigError`). JSON settings and cross-checks are parsed here
 * too, so `npm run check:config` sees every problem the Worker would meet later.
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

export const ConfigSchema = z
  .object({
    ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    LIBSQL_URL: z.url(),
    LIBSQL_AUTH_TOKEN: optionalString,
    UPSTASH_REDIS_REST_URL: optionalString.pipe(z.url().optional()),
    UPSTASH_REDIS_REST_TOKEN: optionalString,
    PARTYKIT_URL: z.url(),
    /** Where clients reach PartyKit, when it differs from the URL the API uses (default: PARTYKIT_URL). */
    PARTYKIT_PUBLIC_URL: optionalString.pipe(z.url().optional()),
    PUBLIC_API_URL: z.url(),
    APP_URL: z.url(),
    CORS_ORIGINS: csv,
    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
    /** Private Ed25519 JWKs, parsed (src/config/jwt-keys.ts); the first signs. */
    JWT_PRIVATE_KEYS: PrivateKeysSchema,
    SERVER_SECRET: z.string().min(32, "must be at least 32 characters of random data"),
    SERVICE_TOKEN: z.string().min(32, "must be at least 32 characters of random data"),
    SENTRY_DSN: optionalString.pipe(z.url().optional()),
    SENTRY_RELEASE: optionalString,
    /** Timeouts for outbound calls, in milliseconds. */
    DB_TIMEOUT_MS: intFrom(3000, 50, 30_000),
    REDIS_TIMEOUT_MS: intFrom(300, 20, 10_000),
    PARTYKIT_TIMEOUT_MS: intFrom(2000, 50, 30_000),
    READY_TIMEOUT_MS: intFrom(1500, 50, 30_000),
    /** "on": round trips are counted per request and every response carries
     * `X-Petrel-Cost: db=<n>, redis=<n>` (tests and `npm run bench` only; the one switch for the
     * counters: BENCH_ROUTES only exposes the bench's baseline routes). */
    COST_HEADERS: z.enum(["on", "off"]).default("off"),
    /** Default body limit for JSON routes. */
    MAX_BODY_BYTES: intFrom(64 * 1024, 1024, 10 * 1024 * 1024),
    /** Identity. Lifetimes in seconds. */
    ACCESS_TOKEN_TTL: intFrom(15 * 60, 30, 24 * 3600),
    REFRESH_TOKEN_TTL: intFrom(30 * 24 * 3600, 60, 365 * 24 * 3600),
    REFRESH_GRACE_SECONDS: intFrom(10, 0, 300),
    CLOCK_SKEW_SECONDS: intFrom(30, 0, 300),
    /** How stale an isolate's view of revoked sessions may be (ms). 0 = check the database on every request. */
    REVOCATION_SYNC_MS: intFrom(5000, 0, 60_000),
    /** PBKDF2-HMAC-SHA-256 iterations (OWASP: 600,000). Tests may lower it. */
    PASSWORD_ITERATIONS: intFrom(600_000, 1000, 5_000_000),
    EMAIL_TOKEN_TTL: intFrom(24 * 3600, 60, 7 * 24 * 3600),
    RESET_TOKEN_TTL: intFrom(3600, 60, 24 * 3600),
    INVITATION_TTL: intFrom(7 * 24 * 3600, 60, 30 * 24 * 3600),
    /** Rate limits: requests per window. */
    AUTH_RATE_LIMIT: intFrom(10, 1, 100_000_000),
    AUTH_RATE_WINDOW_SECONDS: intFrom(60, 1, 3600),
    API_RATE_LIMIT: intFrom(600, 1, 100_000_000),
    API_RATE_WINDOW_SECONDS: intFrom(60, 1, 3600),
    /** GET /ready calls per minute per client IP. */
    READY_RATE_LIMIT: intFrom(60, 1, 100_000_000),
    /** Read cache (src/adapters/cache.ts): Redis TTLs per namespace (s), the per-isolate memory tier
     * (entries, TTL in ms: how stale another isolate's copy may be after a write), and how long an
     * isolate skips Redis after it failed (ms). */
    CACHE_TTL_ME: intFrom(300, 1, 86_400),
    CACHE_TTL_ORG: intFrom(300, 1, 86_400),
    CACHE_TTL_ROOMS: intFrom(60, 1, 86_400),
    CACHE_TTL_MESSAGES: intFrom(60, 1, 86_400),
    CACHE_MEMORY_ENTRIES: intFrom(2000, 0, 1_000_000),
    CACHE_MEMORY_TTL_MS: intFrom(2000, 0, 60_000),
    CACHE_BREAKER_MS: intFrom(2000, 0, 60_000),
    /** OAuth providers: a JSON array of {id, type: "oidc"|"github"|"google", issuer?, clientId, clientSecret, ...},
     * parsed into a map by id (src/config/oauth-providers.ts). */
    OAUTH_PROVIDERS: OAuthProvidersSchema,
    /** Outgoing mail in staging/production: POST JSON {to, subject, text, html} to this URL. */
    MAIL_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
    /** Files: declared-size limit and per-user quota (bytes; pending uploads count), allowed types. */
    FILES_MAX_BYTES: intFrom(25 * 1024 * 1024, 1, 5 * 1024 ** 3),
    FILES_QUOTA_BYTES: intFrom(1024 ** 3, 0, 2 ** 50),
    /** Only types with a content check in src/services/files/file-types.ts can be allowed; others are refused. */
    FILES_ALLOWED_TYPES: csv.default([
      "image/png",
      "image/jpeg",
      "image/gif",
      "image/webp",
      "application/pdf",
      "text/plain",
    ]),
    /** Lifetimes (s): upload URLs (S3 and Worker), download URLs, pending records before cleanup. */
    FILES_UPLOAD_URL_TTL: intFrom(600, 1, 900),
    FILES_DOWNLOAD_URL_TTL: intFrom(300, 1, 3600),
    FILES_PENDING_TTL: intFrom(3600, 60, 7 * 24 * 3600),
    /** POST /v1/orgs/:orgId/invitations per hour: per inviting user, and per org. */
    INVITE_RATE_LIMIT: intFrom(20, 1, 100_000_000),
    INVITE_ORG_RATE_LIMIT: intFrom(50, 1, 100_000_000),
    /** POST /v1/files per user. */
    FILES_RATE_LIMIT: intFrom(60, 1, 100_000_000),
    FILES_RATE_WINDOW_SECONDS: intFrom(3600, 1, 86_400),
    /** Webhooks: the first retry's delay (s; each later one doubles), and the timeout of one attempt (ms). */
    WEBHOOK_RETRY_BASE_SECONDS: intFrom(30, 0, 3600),
    WEBHOOK_TIMEOUT_MS: intFrom(10_000, 100, 30_000),
    /** Object storage: the R2 binding `FILES`, or any S3-compatible store (S3_* required then). */
    STORAGE_DRIVER: z.enum(["r2", "s3"]).default("r2"),
    S3_ENDPOINT: optionalString.pipe(z.url().optional()),
    S3_REGION: z.string().min(1).default("auto"),
    S3_BUCKET: optionalString,
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
  })
  .superRefine((c, ctx) => {
    // Settings that are only required together with another one.
    const requires = (key: keyof typeof c, reason: string) =>
      ctx.addIssue({ code: "custom", path: [key], message: `is missing (required with ${reason})` });
    if (c.STORAGE_DRIVER === "s3") {
      for (const key of ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
        if (!c[key]) requires(key, "STORAGE_DRIVER=s3");
      }
    }
    if (c.UPSTASH_REDIS_REST_URL && !c.UPSTASH_REDIS_REST_TOKEN)
      requires("UPSTASH_REDIS_REST_TOKEN", "UPSTASH_REDIS_REST_URL");
  });

/** An S3-compatible store's settings, complete when STORAGE_DRIVER=s3. */
export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export type Config = z.infer<typeof ConfigSchema> & {
  redisConfigured: boolean;
  isDev: boolean;
  /** Set exactly when STORAGE_DRIVER=s3. */
  s3: S3Settings | undefined;
};

export function parseConfig(source: Record<string, unknown>): Config {
  const c = parseSettings(ConfigSchema, source);
  return {
    ...c,
    redisConfigured: Boolean(c.UPSTASH_REDIS_REST_URL),
    isDev: c.ENVIRONMENT === "development" || c.ENVIRONMENT === "test",
    s3:
      c.STORAGE_DRIVER === "s3"
        ? {
            endpoint: c.S3_ENDPOINT,
            region: c.S3_REGION,
            bucket: c.S3_BUCKET!,
            accessKeyId: c.S3_ACCESS_KEY_ID!,
            secretAccessKey: c.S3_SECRET_ACCESS_KEY!,
          }
        : undefined,
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
