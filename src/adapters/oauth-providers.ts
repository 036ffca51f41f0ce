import { z } from "zod";
import type { ProviderConfig } from "../config/oauth-providers.ts";
import { DependencyError } from "../lib/errors.ts";

/**
 * OAuth 2 / OpenID Connect providers, configured by OAUTH_PROVIDERS. A generic OIDC provider is
 * found by discovery; GitHub (plain OAuth 2 + its REST API) and Google (OIDC) are presets with
 * fixed endpoints. All three share the token exchange; they differ in how the identity is read:
 * a verified id_token (OIDC, Google) or GitHub's /user and /user/emails.
 * Hand-written on jose: no OAuth client library (e.g. oauth4webapi) is a dependency.
 * The providers are parsed with the configuration (src/config/oauth-providers.ts).
 */
export type { ProviderConfig };

export const isOidc = (p: ProviderConfig) => p.type !== "github";

export function scopesOf(p: ProviderConfig): string[] {
  const scopes =
    p.scopes ?? (p.type === "github" ? ["read:user", "user:email"] : ["openid", "email", "profile"]);
  return isOidc(p) && !scopes.includes("openid") ? ["openid", ...scopes] : scopes;
}

/** A refusal the user should hear about in the app (`?error=<code>`), not an outage. */
export class OAuthFlowError extends Error {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(detail);
    this.name = "OAuthFlowError";
    this.code = code;
  }
}

export interface Endpoints {
  issuers: string[];
  authorization: string;
  token: string;
  userinfo?: string | undefined;
  jwksUri?: string | undefined;
  algorithms: string[];
  tokenAuth: "basic" | "post" | "none";
}

const GITHUB: Endpoints = {
  issuers: [],
  authorization: "https://github.com/login/oauth/authorize",
  token: "https://github.com/login/oauth/access_token",
  algorithms: [],
  tokenAuth: "post",
};
const GOOGLE: Endpoints = {
  issuers: ["https://accounts.google.com", "accounts.google.com"],
  authorization: "https://accounts.google.com/o/oauth2/v2/auth",
  token: "https://oauth2.googleapis.com/token",
  userinfo: "https://openidconnect.googleapis.com/v1/userinfo",
  jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
  algorithms: ["RS256"],
  tokenAuth: "post",
};

/** Signature algorithms we accept for id_tokens: asymmetric only (never `none` or HMAC). */
const ASYMMETRIC = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

const DiscoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  userinfo_endpoint: z.url().optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).min(1),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});

export const unavailable = (p: ProviderConfig, cause: unknown) =>
  new DependencyError(`identity provider ${p.id}`, cause);

/** Every outbound call: a timeout, and network failures or 5xx answers become a DependencyError. */
export async function callProvider(p: ProviderConfig, url: string, init: RequestInit = {}) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(p.timeoutMs) });
    if (res.status >= 500) throw new Error(`HTTP ${res.status} from ${new URL(url).origin}`);
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, ok: res.ok, body };
  } catch (err) {
    throw unavailable(p, err);
  }
}

const DISCOVERY_TTL_MS = 3600_000;
const discoveries = new Map<string, { at: number; endpoints: Endpoints }>();

async function discover(p: ProviderConfig & { type: "oidc" }): Promise<Endpoints> {
  const cached = discoveries.get(p.issuer);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.endpoints;
  const res = await callProvider(p, `${p.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, {
    headers: { accept: "application/json" },
  });
  const doc = DiscoverySchema.safeParse(res.body);
  if (!res.ok || !doc.success) throw unavailable(p, new Error(`invalid discovery document (${res.status})`));
  const d = doc.data;
  // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
  if (d.issuer.replace(/\/$/, "") !== p.issuer.replace(/\/$/, "")) {
    throw unavailable(p, new Error(`discovery issuer ${d.issuer} does not match ${p.issuer}`));
  }
  const methods = d.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  const endpoints: Endpoints = {
    issuers: [d.issuer],
    authorization: d.authorization_endpoint,
    token: d.token_endpoint,
    userinfo: d.userinfo_endpoint,
    jwksUri: d.jwks_uri,
    algorithms: d.id_token_signing_alg_values_supported.filter((a) => ASYMMETRIC.has(a)),
    tokenAuth: methods.includes("client_secret_basic")
      ? "basic"
      : methods.includes("client_secret_post")
        ? "post"
        : "none",
  };
  discoveries.set(p.issuer, { at: Date.now(), endpoints });
  return endpoints;
}

export function endpointsOf(p: ProviderConfig): Promise<Endpoints> {
  if (p.type === "github") return Promise.resolve(GITHUB);
  if (p.type === "google") return Promise.resolve(GOOGLE);
  return discover(p);
}

export async function authorizationUrl(
  p: ProviderConfig,
  params: { state: string; codeChallenge: string; nonce: string | null; redirectUri: string },
): Promise<string> {
  const url = new URL((await endpointsOf(p)).authorization);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", p.clientId);
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("scope", scopesOf(p).join(" "));
  url.searchParams.set("state", params.state);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  if (params.nonce) url.searchParams.set("nonce", params.nonce);
  return url.href;
}
