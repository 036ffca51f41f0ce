import { createRemoteJWKSet, type JWTPayload, errors as jose, jwtVerify } from "jose";
import { z } from "zod";
import { storableLine, textProblem } from "../lib/text.ts";
import {
  callProvider,
  type Endpoints,
  endpointsOf,
  OAuthFlowError,
  type ProviderConfig,
  unavailable,
} from "./oauth-providers.ts";

/**
 * The identity behind an authorization code (src/adapters/oauth-providers.ts finds the
 * endpoints): the token exchange, then a verified id_token (OIDC, Google) or GitHub's /user
 * and /user/emails. Hand-written on jose: no OAuth client library is a dependency.
 */
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
