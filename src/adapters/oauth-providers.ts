import { createRemoteJWKSet, type JWTPayload, errors as jose, jwtVerify } from "jose";
import { z } from "zod";
import type { ProviderConfig } from "../config/oauth-providers.ts";
import { DependencyError } from "../lib/errors.ts";
import { storableLine, textProblem } from "../lib/text.ts";

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

interface Endpoints {
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

const unavailable = (p: ProviderConfig, cause: unknown) =>
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

function endpointsOf(p: ProviderConfig): Promise<Endpoints> {
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

export interface OAuthIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

const TokenResponseSchema = z.object({ access_token: z.string().min(1), id_token: z.string().optional() });

/** RFC 6749 §2.3.1: client credentials are form-encoded before Basic encoding. */
const basic = (id: string, secret: string) =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

async function exchangeCode(
  p: ProviderConfig,
  ep: Endpoints,
  code: string,
  verifier: string,
  redirectUri: string,
) {
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = {
    accept: "application/json",
    "content-type": "application/x-www-form-urlencoded",
  };
  if (ep.tokenAuth === "basic") headers.authorization = basic(p.clientId, p.clientSecret);
  else form.set("client_id", p.clientId);
  if (ep.tokenAuth === "post") form.set("client_secret", p.clientSecret);
  const res = await callProvider(p, ep.token, { method: "POST", headers, body: form.toString() });
  const tokens = TokenResponseSchema.safeParse(res.body);
  // GitHub answers refusals with 200 and an `error` field.
  if (!res.ok || !tokens.success) {
    const error = (res.body as { error?: unknown } | undefined)?.error;
    throw new OAuthFlowError(
      "invalid_grant",
      `token endpoint refused the code (${res.status} ${String(error ?? "")})`,
    );
  }
  return tokens.data;
}

const jwksSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function jwksFor(uri: string, timeoutMs: number) {
  let set = jwksSets.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: timeoutMs });
    jwksSets.set(uri, set);
  }
  return set;
}

const claimString = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
// Some providers send email_verified as the string "true".
const claimTrue = (v: unknown) => v === true || v === "true";

async function verifyIdToken(p: ProviderConfig, ep: Endpoints, idToken: string, nonce: string, skew: number) {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, jwksFor(ep.jwksUri!, p.timeoutMs), {
      issuer: ep.issuers,
      audience: p.clientId,
      algorithms: ep.algorithms,
      clockTolerance: skew,
      requiredClaims: ["sub", "exp", "iat"],
    }));
  } catch (err) {
    const outage =
      err instanceof jose.JWKSTimeout || !(err instanceof jose.JOSEError) || err.code === "ERR_JOSE_GENERIC";
    if (outage) throw unavailable(p, err);
    throw new OAuthFlowError("invalid_token", `id_token rejected: ${(err as Error).message}`);
  }
  if (payload.nonce !== nonce) throw new OAuthFlowError("invalid_token", "id_token nonce does not match");
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== p.clientId) {
    throw new OAuthFlowError("invalid_token", "id_token azp does not name this client");
  }
  return payload as JWTPayload & { sub: string };
}

async function oidcIdentity(
  p: ProviderConfig,
  ep: Endpoints,
  accessToken: string,
  idToken: string | undefined,
  nonce: string,
  skew: number,
): Promise<OAuthIdentity> {
  if (!idToken) throw new OAuthFlowError("invalid_token", "no id_token in the token response");
  let claims: Record<string, unknown> = await verifyIdToken(p, ep, idToken, nonce, skew);
  const sub = claims.sub as string;
  if (claimString(claims.email) === null && ep.userinfo) {
    // The provider may return profile claims only from /userinfo (OIDC Core §5.4).
    const res = await callProvider(p, ep.userinfo, {
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
    });
    const info = res.body as Record<string, unknown> | undefined;
    // OIDC Core §5.3.2: the userinfo `sub` must be the id_token's.
    if (!res.ok || !info || info.sub !== sub)
      throw new OAuthFlowError("invalid_token", "userinfo subject mismatch");
    claims = { ...info, sub };
  }
  return checkedIdentity({
    subject: sub,
    email: claimString(claims.email),
    emailVerified: claimTrue(claims.email_verified),
    name: claimString(claims.name),
  });
}

/**
 * Provider text is stored (users, oauth_accounts) and looked up: a subject or email that is not
 * well-formed single-line text is refused; a display name is made storable (src/lib/text.ts).
 */
function checkedIdentity(id: OAuthIdentity): OAuthIdentity {
  if (textProblem(id.subject, "line") || (id.email !== null && textProblem(id.email, "line")))
    throw new OAuthFlowError("invalid_token", "the provider sent a subject or email that is not plain text");
  return { ...id, name: id.name === null ? null : (storableLine(id.name, 100) ?? null) };
}

const GitHubUserSchema = z.object({ id: z.number().int(), login: z.string(), name: z.string().nullish() });
const GitHubEmailsSchema = z.array(
  z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }),
);

async function githubIdentity(p: ProviderConfig, accessToken: string): Promise<OAuthIdentity> {
  const headers = {
    authorization: `Bearer ${accessToken}`,
    accept: "application/vnd.github+json",
    "user-agent": "petrel",
    "x-github-api-version": "2022-11-28",
  };
  const [user, emails] = await Promise.all([
    callProvider(p, "https://api.github.com/user", { headers }),
    callProvider(p, "https://api.github.com/user/emails", { headers }),
  ]);
  const u = GitHubUserSchema.safeParse(user.body);
  const e = GitHubEmailsSchema.safeParse(emails.body);
  if (!user.ok || !emails.ok || !u.success || !e.success) {
    throw new OAuthFlowError(
      "invalid_token",
      `GitHub API refused the token (${user.status}/${emails.status})`,
    );
  }
  const primary = e.data.find((x) => x.primary);
  return checkedIdentity({
    subject: String(u.data.id),
    email: primary?.email ?? null,
    emailVerified: primary?.verified === true,
    name: u.data.name ?? u.data.login,
  });
}

/** Redeem the authorization code (with the PKCE verifier) and read who signed in. */
export async function fetchIdentity(
  p: ProviderConfig,
  input: {
    code: string;
    verifier: string;
    nonce: string | null;
    redirectUri: string;
    clockSkewSeconds: number;
  },
): Promise<OAuthIdentity> {
  const ep = await endpointsOf(p);
  const tokens = await exchangeCode(p, ep, input.code, input.verifier, input.redirectUri);
  if (p.type === "github") return githubIdentity(p, tokens.access_token);
  return oidcIdentity(p, ep, tokens.access_token, tokens.id_token, input.nonce ?? "", input.clockSkewSeconds);
}
