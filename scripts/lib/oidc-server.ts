// A real local OpenID Connect provider for tests, built on `oauth2-mock-server` (discovery, JWKS,
// authorize with PKCE + nonce, token endpoint signing RS256 id_tokens, userinfo).
//
// Choosing who signs in: the browser (a test) adds `login_hint=<JSON MockIdentity>` to the
// authorization URL it follows. The mock remembers the identity under the authorization code it
// issues and puts it into the id_token (and the access token that /userinfo reads) when that code
// is redeemed. Without a hint the library's default subject `johndoe` (no email) signs in.
import type { IncomingMessage } from "node:http";
import {
  type MutableRedirectUri,
  type MutableResponse,
  type MutableToken,
  OAuth2Server,
  type TokenRequestIncomingMessage,
} from "oauth2-mock-server";

/** The identity of the next login, passed as JSON in the authorize request's `login_hint`. */
export interface MockIdentity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Leave email/name out of the id_token: the relying party must read them from /userinfo. */
  claimsInUserinfoOnly?: boolean;
  /** Extra claims forced into the id_token (e.g. a wrong `nonce` or `aud`, to test verification). */
  idToken?: Record<string, unknown>;
  /** Answer the authorize request with this OAuth error instead of a code (e.g. `access_denied`). */
  error?: string;
}

export interface OidcServer {
  /** The issuer URL (also the base URL of every endpoint). */
  issuer: string;
  close(): Promise<void>;
}

function parseHint(raw: unknown): MockIdentity | undefined {
  if (typeof raw !== "string") return undefined;
  try {
    const v = JSON.parse(raw) as MockIdentity;
    return v && typeof v === "object" && typeof v.sub === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Claims about the user, as an id_token or /userinfo carries them. */
function profileClaims(id: MockIdentity): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (id.email !== undefined) claims.email = id.email;
  if (id.email_verified !== undefined) claims.email_verified = id.email_verified;
  if (id.name !== undefined) claims.name = id.name;
  return claims;
}

export async function startOidcServer(port = 0): Promise<OidcServer> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate("RS256");
  await server.start(port, "127.0.0.1");
  // The library names itself `localhost`; workerd and Node agree on 127.0.0.1.
  const issuer = `http://127.0.0.1:${server.address().port}`;
  server.issuer.url = issuer;

  /** Identities waiting for their authorization code to be redeemed. */
  const byCode = new Map<string, MockIdentity>();
  const service = server.service;

  service.on("beforeAuthorizeRedirect", (redirect: MutableRedirectUri, req: IncomingMessage) => {
    const query = new URL(req.url ?? "/", issuer).searchParams;
    const id = parseHint(query.get("login_hint"));
    const code = redirect.url.searchParams.get("code");
    if (!id || !code) return;
    if (id.error) {
      redirect.url.searchParams.delete("code");
      redirect.url.searchParams.set("error", id.error);
      return;
    }
    byCode.set(code, id);
  });

  service.on("beforeTokenSigning", (token: MutableToken, req: TokenRequestIncomingMessage) => {
    const id = req.body.code ? byCode.get(req.body.code) : undefined;
    if (!id) return;
    const isAccessToken = "scope" in token.payload;
    if (isAccessToken) {
      // The access token carries the profile so that /userinfo can answer from it alone.
      Object.assign(token.payload, { sub: id.sub, profile: profileClaims(id) });
    } else {
      Object.assign(
        token.payload,
        { sub: id.sub },
        id.claimsInUserinfoOnly ? {} : profileClaims(id),
        id.idToken ?? {},
      );
    }
  });

  service.on("beforeResponse", (_res: MutableResponse, req: TokenRequestIncomingMessage) => {
    if (req.body.code) byCode.delete(req.body.code);
  });

  service.on("beforeUserinfo", (res: MutableResponse, req: IncomingMessage) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const payload = token?.split(".")[1];
    if (!payload) return;
    // The mock's own token: reading it without verification is enough here.
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      sub?: string;
      profile?: Record<string, unknown>;
    };
    if (claims.sub) res.body = { sub: claims.sub, ...claims.profile };
  });

  return {
    issuer,
    close: async () => {
      if (server.listening) await server.stop();
    },
  };
}
