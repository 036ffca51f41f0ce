import type { JSONWebKeySet } from "jose";

/** The party's variables (partykit.json `vars`, `--var`, or the deploy's environment). */
export interface PartyEnv {
  API_URL: string;
  /** The API's public JWK Set (JSON, or already parsed by the CLI). Without it, keys come from the API's JWKS endpoint. */
  JWT_PUBLIC_JWKS?: string | JSONWebKeySet;
  JWT_ISSUER?: string;
  SERVICE_TOKEN: string;
  MAX_FRAMES_PER_SECOND?: string;
  /** Sentry for party errors; off when unset. */
  SENTRY_DSN?: string;
  SENTRY_RELEASE?: string;
  ENVIRONMENT?: string;
}

export const envOf = (env: Record<string, unknown>) => env as unknown as PartyEnv;
export const apiUrl = (env: Record<string, unknown>) => envOf(env).API_URL.replace(/\/$/, "");
