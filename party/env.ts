import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { fromJson, parseSettings } from "../src/config/settings.ts";
import {
  DEFAULT_ACCESS_RECHECK_SECONDS,
  DEFAULT_MAX_FRAMES_PER_SECOND,
  DEFAULT_MAX_SOCKETS_PER_USER,
  DEFAULT_MAX_UNACKED_MESSAGES,
  DEFAULT_PRESENCE_LEASE_SECONDS,
  DEFAULT_SESSION_CHECK_SECONDS,
  DEFAULT_SESSION_FAIL_CLOSED_SECONDS,
} from "../src/shared/realtime.ts";
import { HOLD_MS } from "./seq-order.ts";

const optionalText = z
  .string()
  .optional()
  .transform((s) => (s && s.trim() !== "" ? s.trim() : undefined));

// The PartyKit CLI hands JSON vars over already parsed; a deploy's environment holds text.
const jwksText = fromJson("must be a JSON Web Key Set");
const JwksSchema = z
  .unknown()
  .transform((v, ctx) => (typeof v === "string" ? jwksText(v, ctx) : v))
  .pipe(
    z.looseObject({
      keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().min(1) })).min(1),
    }),
  )
  .transform((jwks) => jwks as JSONWebKeySet);

/**
 * The parties' variables (partykit.json `vars`, `--var`, or the deploy's environment), parsed
 * like the Worker's configuration: a missing or malformed one fails naming it.
 */
const PartyEnvSchema = z.object({
  API_URL: z.url(),
  /** The API's public JWK Set. Without it, keys come from the API's JWKS endpoint. */
  JWT_PUBLIC_JWKS: JwksSchema.optional(),
  /** The tickets' issuer; default: API_URL. */
  JWT_ISSUER: optionalText,
  SERVICE_TOKEN: z.string().min(32, "must be at least 32 characters of random data"),
  MAX_FRAMES_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_FRAMES_PER_SECOND),
  /** Sockets one user may hold open in one room; the next one is closed with 4002. */
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(1000).default(DEFAULT_MAX_SOCKETS_PER_USER),
  /** How often a chat room re-checks its connected users' access (catches a missed push). */
  ACCESS_RECHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(DEFAULT_ACCESS_RECHECK_SECONDS),
  /** Presence lease (party/lifecycle.ts): clients heartbeat every half lease; silent sockets close (4001). */
  PRESENCE_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(DEFAULT_PRESENCE_LEASE_SECONDS),
  /** Messages a socket may be behind its last read-ack before it is closed as a slow consumer (4001). */
  MAX_UNACKED_MESSAGES: z.coerce.number().int().min(4).max(1_000_000).default(DEFAULT_MAX_UNACKED_MESSAGES),
  /** How often a room asks the API which of its connected sessions were revoked (party/sessions.ts). */
  SESSION_CHECK_SECONDS: z.coerce.number().min(1).max(3600).default(DEFAULT_SESSION_CHECK_SECONDS),
  /** Sessions that could not be verified for this long (the check kept failing) are closed (4000). */
  SESSION_FAIL_CLOSED_SECONDS: z.coerce
    .number()
    .min(1)
    .max(86_400)
    .default(DEFAULT_SESSION_FAIL_CLOSED_SECONDS),
  /** How long a new message ahead of a gap waits for the earlier ones (party/seq-order.ts). */
  SEQ_HOLD_MS: z.coerce.number().int().min(10).max(60_000).default(HOLD_MS),
  /** Sentry for party errors; off when unset. */
  SENTRY_DSN: optionalText.pipe(z.url().optional()),
  SENTRY_RELEASE: optionalText,
  /** Unset is neither development nor test: debug hooks stay off. */
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).optional(),
});

export type PartyEnv = z.output<typeof PartyEnvSchema>;

export function parsePartyEnv(env: Record<string, unknown>): PartyEnv {
  return parseSettings(PartyEnvSchema, env, (v) => v !== undefined && v !== null);
}

const parsed = new WeakMap<object, PartyEnv>();
/** Parsed once per isolate: a room's and its lobby's env objects live as long as the isolate. */
export function envOf(env: Record<string, unknown>): PartyEnv {
  let e = parsed.get(env);
  if (!e) {
    e = parsePartyEnv(env);
    parsed.set(env, e);
  }
  return e;
}

export const apiUrl = (env: Record<string, unknown>) => envOf(env).API_URL.replace(/\/$/, "");
