import { and, eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import type { MockIdentity } from "../scripts/lib/oidc-server.ts";
import { parseConfig } from "../src/config.ts";
import { getDatabase } from "../src/db/client.ts";
import { auditLog, oauthAccounts, oauthGrants, users } from "../src/db/schema.ts";
import { randomToken, sha256 } from "../src/lib/crypto.ts";
import { api, apiWithEnv, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, login, randomIp, registerUser } from "./helpers/users.ts";

// The whole flow against a real OpenID Connect provider (scripts/lib/oidc-server.ts). The test
// plays the browser: it follows each Location itself and carries the state cookie. Who signs in
// at the provider is chosen with `login_hint=<JSON MockIdentity>` on the authorization URL.

const db = () => getDatabase(inject("sqldUrl"), undefined, 3000).db;
const APP_CALLBACK = `${inject("bindings").APP_URL}/oauth/callback`;
const STATE_COOKIE = "petrel_oauth_state";
/** OAUTH_PROVIDERS as the configuration parses it, everything else as the test Worker has it. */
const getProviders = (raw: string | undefined) =>
  parseConfig({ ...inject("bindings"), OAUTH_PROVIDERS: raw }).OAUTH_PROVIDERS;

interface AuthBody {
  user: { id: string; email: string; name: string; emailVerified: boolean };
  accessToken: string;
  refreshToken?: string;
}

interface Flow {
  ip: string;
  state: string;
  cookie: string | undefined;
  authorize: URL;
  setCookie: string;
}

async function start(provider = "oidc", ip = randomIp()): Promise<Flow> {
  const res = await api(`/v1/auth/oauth/${provider}/start`, {
    headers: { "cf-connecting-ip": ip },
    redirect: "manual",
  });
  expect(res.status, await res.clone().text()).toBe(302);
  const authorize = new URL(res.headers.get("location")!);
  const setCookie = res.headers.get("set-cookie") ?? "";
  return {
    ip,
    authorize,
    setCookie,
    state: authorize.searchParams.get("state")!,
    cookie: new RegExp(`${STATE_COOKIE}=([^;]+)`).exec(setCookie)?.[1],
  };
}

/** The browser at the provider: who signs in is in login_hint; returns the URL of our callback. */
async function authorize(flow: Flow, identity: MockIdentity): Promise<URL> {
  const url = new URL(flow.authorize);
  url.searchParams.set("login_hint", JSON.stringify(identity));
  const res = await fetch(url, { redirect: "manual" });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location")!);
}

function callback(url: URL, flow: Flow, cookie = flow.cookie): Promise<Response> {
  const headers: Record<string, string> = { "cf-connecting-ip": flow.ip };
  if (cookie) headers.cookie = `${STATE_COOKIE}=${cookie}`;
  return api(`${url.pathname}${url.search}`, { headers, redirect: "manual" });
}

/** Where the callback sent the browser: the app, with `code` or `error`. */
async function appParams(res: Response): Promise<URLSearchParams> {
  expect(res.status, await res.clone().text()).toBe(302);
  const loc = new URL(res.headers.get("location")!);
  expect(`${loc.origin}${loc.pathname}`).toBe(APP_CALLBACK);
  return loc.searchParams;
}

async function signIn(identity: MockIdentity): Promise<URLSearchParams> {
  const flow = await start();
  return appParams(await callback(await authorize(flow, identity), flow));
}

function exchange(code: string, headers: Record<string, string> = {}) {
  return api(
    "/v1/auth/oauth/exchange",
    jsonBody({ code }, { headers: { "cf-connecting-ip": randomIp(), ...headers } }),
  );
}

async function signInTokens(identity: MockIdentity): Promise<AuthBody> {
  const params = await signIn(identity);
  expect(params.get("error")).toBeNull();
  const res = await exchange(params.get("code")!);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as AuthBody;
}

const fresh = (overrides: Partial<MockIdentity> = {}): MockIdentity => {
  const n = crypto.randomUUID();
  return {
    sub: `sub-${n}`,
    email: `o-${n}@example.test`,
    email_verified: true,
    name: "Grace Hopper",
    ...overrides,
  };
};

async function me(token: string) {
  const res = await api("/v1/me", bearer(token));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function auditFor(actorId: string) {
  return (await db().select().from(auditLog).where(eq(auditLog.actorId, actorId))).map((r) => r.action);
}

async function verifyByMail(email: string) {
  const all = (await (await api("/dev/outbox")).json()) as Array<{ to: string; token: string | null }>;
  const token = all.find((m) => m.to === email)?.token;
  expect(token).toBeTruthy();
  expect((await api("/v1/auth/verify-email", jsonBody({ token }))).status).toBe(204);
}

describe("OAuth start", () => {
  it("redirects to the provider with PKCE S256, state and nonce, and binds the state to a cookie", async () => {
    const flow = await start();
    const q = flow.authorize.searchParams;
    expect(`${flow.authorize.origin}${flow.authorize.pathname}`).toBe(`${inject("oidcUrl")}/authorize`);
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe("petrel-test");
    expect(q.get("redirect_uri")).toBe(`${inject("bindings").PUBLIC_API_URL}/v1/auth/oauth/oidc/callback`);
    expect(q.get("scope")).toBe("openid email profile");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(flow.state).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    // The cookie carries the state, HttpOnly, Secure, Lax, scoped to the OAuth routes.
    expect(flow.cookie).toBe(flow.state);
    expect(flow.setCookie).toMatch(/HttpOnly/i);
    expect(flow.setCookie).toMatch(/Secure/i);
    expect(flow.setCookie).toMatch(/SameSite=Lax/i);
    expect(flow.setCookie).toMatch(/Path=\/v1\/auth\/oauth(;|$)/);
    expect(flow.setCookie).toMatch(/Max-Age=600/);
    // Only a hash of the state is stored, with the verifier that matches the challenge.
    const [row] = await db()
      .select()
      .from(oauthGrants)
      .where(eq(oauthGrants.keyHash, await sha256(flow.state)));
    expect(row).toMatchObject({ kind: "flow", provider: "oidc", usedAt: null, nonce: q.get("nonce") });
    expect(await sha256(row!.verifier!)).toBe(q.get("code_challenge"));
    expect(await db().select().from(oauthGrants).where(eq(oauthGrants.keyHash, flow.state))).toHaveLength(0);
    const minutes = (Date.parse(row!.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(9);
    expect(minutes).toBeLessThanOrEqual(10);
  });

  it("answers 404 for an unknown provider on every route", async () => {
    await expectProblem(await api("/v1/auth/oauth/nope/start"), 404, "not_found");
    await expectProblem(await api("/v1/auth/oauth/nope/callback?state=x&code=y"), 404, "not_found");
  });

  it("builds the GitHub and Google preset authorization URLs", async () => {
    const providers = JSON.stringify([
      { id: "github", type: "github", clientId: "gh-client", clientSecret: "gh-secret" },
      { id: "google", type: "google", clientId: "g-client", clientSecret: "g-secret" },
    ]);
    const base = inject("bindings").PUBLIC_API_URL;
    const gh = await apiWithEnv({ OAUTH_PROVIDERS: providers }, "/v1/auth/oauth/github/start");
    expect(gh.status).toBe(302);
    const ghUrl = new URL(gh.headers.get("location")!);
    expect(`${ghUrl.origin}${ghUrl.pathname}`).toBe("https://github.com/login/oauth/authorize");
    expect(Object.fromEntries(ghUrl.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "gh-client",
      redirect_uri: `${base}/v1/auth/oauth/github/callback`,
      scope: "read:user user:email",
      code_challenge_method: "S256",
    });
    expect(ghUrl.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ghUrl.searchParams.has("nonce")).toBe(false); // plain OAuth 2: no id_token
    const google = await apiWithEnv({ OAUTH_PROVIDERS: providers }, "/v1/auth/oauth/google/start");
    expect(google.status).toBe(302);
    const gUrl = new URL(google.headers.get("location")!);
    expect(`${gUrl.origin}${gUrl.pathname}`).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(Object.fromEntries(gUrl.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "g-client",
      redirect_uri: `${base}/v1/auth/oauth/google/callback`,
      scope: "openid email profile",
      code_challenge_method: "S256",
    });
    expect(gUrl.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  });

  it("answers 503 when the provider does not answer discovery in time", async () => {
    const providers = JSON.stringify([
      {
        id: "hung",
        type: "oidc",
        issuer: inject("hungUrl"),
        clientId: "c",
        clientSecret: "s",
        timeoutMs: 300,
      },
    ]);
    const started = Date.now();
    const res = await apiWithEnv({ OAUTH_PROVIDERS: providers }, "/v1/auth/oauth/hung/start");
    await expectProblem(res, 503, "dependency_unavailable");
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("rejects a malformed OAUTH_PROVIDERS with an error naming it", () => {
    expect(() => getProviders("not json")).toThrow(/OAUTH_PROVIDERS must be a JSON array/);
    expect(() =>
      getProviders(JSON.stringify([{ id: "x", type: "oidc", clientId: "c", clientSecret: "s" }])),
    ).toThrow(/OAUTH_PROVIDERS\[0\]\[issuer\]/);
    const plainHttp = [
      { id: "x", type: "oidc", issuer: "http://idp.example", clientId: "c", clientSecret: "s" },
    ];
    expect(() => getProviders(JSON.stringify(plainHttp))).toThrow(/must be https/);
    const twice = [
      { id: "gh", type: "github", clientId: "c", clientSecret: "s" },
      { id: "gh", type: "google", clientId: "c", clientSecret: "s" },
    ];
    expect(() => getProviders(JSON.stringify(twice))).toThrow(/unique/);
    expect(getProviders(undefined).size).toBe(0);
  });

  it("counts against the same per-IP auth budget as login", async () => {
    const ip = randomIp();
    const env = { AUTH_RATE_LIMIT: "2" };
    const headers = { "cf-connecting-ip": ip };
    const first = await apiWithEnv(
      env,
      "/v1/auth/login",
      jsonBody({ email: "a@b.test", password: "x" }, { headers }),
    );
    expect(first.status).toBe(401);
    expect((await apiWithEnv(env, "/v1/auth/oauth/oidc/start", { headers })).status).toBe(302);
    const third = await apiWithEnv(
      env,
      "/v1/auth/oauth/exchange",
      jsonBody({ code: "whatever" }, { headers }),
    );
    await expectProblem(third, 429, "rate_limited");
  });
});

describe("OAuth sign-in and linking", () => {
  it("creates a new verified user, whose second sign-in reaches the same account", async () => {
    const identity = fresh();
    const first = await signInTokens(identity);
    expect(first.user).toMatchObject({ email: identity.email, name: "Grace Hopper", emailVerified: true });
    expect(first.refreshToken).toBeTruthy();
    const profile = await me(first.accessToken);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ id: first.user.id, email: identity.email, emailVerified: true });
    expect(profile.body.handle).toMatch(/^grace_hopper(_\d+)?$/);

    const second = await signInTokens({ ...identity, email: `changed-${identity.email}` });
    expect(second.user.id).toBe(first.user.id);
    const links = await db().select().from(oauthAccounts).where(eq(oauthAccounts.userId, first.user.id));
    expect(links).toEqual([expect.objectContaining({ provider: "oidc", subject: identity.sub })]);
    const [row] = await db().select().from(users).where(eq(users.id, first.user.id));
    expect(row!.passwordHash).toBeNull();
    const actions = await auditFor(first.user.id);
    expect(actions).toContain("user.oauth_registered");
    expect(actions.filter((a) => a === "user.oauth_login")).toHaveLength(2);
  });

  it("reads the email from /userinfo when the id_token does not carry it", async () => {
    const identity = fresh({ claimsInUserinfoOnly: true });
    const body = await signInTokens(identity);
    expect(body.user).toMatchObject({ email: identity.email, emailVerified: true });
  });

  it("links to an existing password account with the same, provider-verified email", async () => {
    const u = await registerUser();
    await verifyByMail(u.email);
    const body = await signInTokens(fresh({ email: u.email.toUpperCase() }));
    expect(body.user.id).toBe(u.id);
    // The account keeps its password and its other sessions.
    expect((await login(u.email)).status).toBe(200);
    expect((await me(u.accessToken)).status).toBe(200);
    expect(await auditFor(u.id)).toContain("user.oauth_linked");
  });

  it("linking to an account that never verified its email removes its password and sessions", async () => {
    const u = await registerUser();
    const body = await signInTokens(fresh({ email: u.email }));
    expect(body.user.id).toBe(u.id);
    expect(body.user.emailVerified).toBe(true);
    await expectProblem(await login(u.email), 401, "invalid_credentials");
    expect((await me(u.accessToken)).status).toBe(401);
    expect((await me(body.accessToken)).status).toBe(200);
  });

  it("never links on an unverified email: refused, the existing account untouched, no account created", async () => {
    const u = await registerUser();
    await verifyByMail(u.email);
    const identity = fresh({ email: u.email, email_verified: false });
    const params = await signIn(identity);
    expect(params.get("error")).toBe("email_unverified");
    expect(params.get("code")).toBeNull();
    expect(
      await db()
        .select()
        .from(oauthAccounts)
        .where(and(eq(oauthAccounts.provider, "oidc"), eq(oauthAccounts.subject, identity.sub))),
    ).toHaveLength(0);
    expect(await db().select().from(users).where(eq(users.email, u.email))).toHaveLength(1);
    expect((await login(u.email)).status).toBe(200);

    const stranger = fresh({ email_verified: false });
    expect((await signIn(stranger)).get("error")).toBe("email_unverified");
    expect(await db().select().from(users).where(eq(users.email, stranger.email!))).toHaveLength(0);
    const refused = await db().select().from(auditLog).where(eq(auditLog.action, "user.oauth_refused"));
    expect(refused.some((r) => r.metadata?.reason === "email_unverified")).toBe(true);
  });

  it("stores a provider's display name as well-formed single-line text, and refuses an ill-formed email", async () => {
    // 99 letters + a surrogate pair: a plain 100-unit cut would leave a lone surrogate.
    const name = `Lone\ud800 ctl\u0007\nname ${"x".repeat(83)}🦜`;
    const body = await signInTokens(fresh({ name }));
    expect(body.user.name).toBe(`Lone\ufffd ctl  name ${"x".repeat(83)}`);
    const emailIdentity = fresh();
    const refused = await signIn({ ...emailIdentity, email: `x\udc00${emailIdentity.email}` });
    expect(refused.get("error")).toBe("invalid_token");
  });

  it("refuses an identity without an email", async () => {
    expect((await signIn(fresh({ email: undefined }))).get("error")).toBe("email_required");
  });

  it.each([
    ["a wrong nonce", { nonce: "not-the-one-we-sent" }],
    ["another audience", { aud: "someone-else" }],
    ["another issuer", { iss: "https://evil.example" }],
    ["an expired token", { exp: Math.floor(Date.now() / 1000) - 3600 }],
  ])("refuses an id_token with %s", async (_what, claims) => {
    const identity = fresh({ idToken: claims });
    expect((await signIn(identity)).get("error")).toBe("invalid_token");
    expect(await db().select().from(users).where(eq(users.email, identity.email!))).toHaveLength(0);
  });

  it("sends the PKCE verifier: a flow whose stored verifier was altered is refused by the provider", async () => {
    const flow = await start();
    await db()
      .update(oauthGrants)
      .set({ verifier: randomToken() })
      .where(eq(oauthGrants.keyHash, await sha256(flow.state)));
    const identity = fresh();
    const params = await appParams(await callback(await authorize(flow, identity), flow));
    expect(params.get("error")).toBe("invalid_grant");
    expect(await db().select().from(users).where(eq(users.email, identity.email!))).toHaveLength(0);
  });

  it("sends a provider error to the app and uses up the state", async () => {
    const flow = await start();
    const cb = await authorize(flow, fresh({ error: "access_denied" }));
    expect(cb.searchParams.get("error")).toBe("access_denied");
    const res = await callback(cb, flow);
    expect((await appParams(res)).get("error")).toBe("access_denied");
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`${STATE_COOKIE}=;.*Max-Age=0`));
    await expectProblem(await callback(cb, flow), 400, "validation_failed");
    // An error value that is not an OAuth error code is not echoed.
    const odd = await start();
    const oddCb = await authorize(odd, fresh({ error: "<script>" }));
    expect((await appParams(await callback(oddCb, odd))).get("error")).toBe("server_error");
  });
});

describe("OAuth state (login CSRF)", () => {
  it("refuses a tampered state, without using up the real one", async () => {
    const flow = await start();
    const cb = await authorize(flow, fresh());
    const tampered = new URL(cb);
    tampered.searchParams.set("state", `${flow.state.slice(0, -1)}${flow.state.endsWith("A") ? "B" : "A"}`);
    await expectProblem(await callback(tampered, flow), 400, "validation_failed");
    // An attacker who sets both the parameter and the cookie to a state of their own: unknown.
    const forged = new URL(cb);
    forged.searchParams.set("state", randomToken());
    await expectProblem(
      await callback(forged, flow, forged.searchParams.get("state")!),
      400,
      "validation_failed",
    );
    expect((await appParams(await callback(cb, flow))).get("code")).toBeTruthy();
  });

  it("refuses another browser's valid callback (login CSRF): the state must match this browser's cookie", async () => {
    const attacker = await start();
    const victim = await start();
    const attackerCallback = await authorize(attacker, fresh());
    await expectProblem(await callback(attackerCallback, victim), 400, "validation_failed");
    // Neither flow was used up by the refusal.
    expect((await appParams(await callback(attackerCallback, attacker))).get("code")).toBeTruthy();
    const victimCallback = await authorize(victim, fresh());
    expect((await appParams(await callback(victimCallback, victim))).get("code")).toBeTruthy();
  });

  it("refuses a callback without the state parameter", async () => {
    const flow = await start();
    const cb = await authorize(flow, fresh());
    cb.searchParams.delete("state");
    await expectProblem(await callback(cb, flow), 400, "validation_failed");
  });

  it("refuses a callback without the state cookie (another browser)", async () => {
    const flow = await start();
    const cb = await authorize(flow, fresh());
    await expectProblem(await callback(cb, flow, ""), 400, "validation_failed");
  });

  it("refuses a reused state", async () => {
    const flow = await start();
    const cb = await authorize(flow, fresh());
    expect((await appParams(await callback(cb, flow))).get("code")).toBeTruthy();
    const again = await authorize(flow, fresh()); // a fresh provider code, the same state
    await expectProblem(await callback(again, flow), 400, "validation_failed");
  });

  it("refuses an expired state", async () => {
    const flow = await start();
    await db()
      .update(oauthGrants)
      .set({ expiresAt: new Date(Date.now() - 1000).toISOString() })
      .where(eq(oauthGrants.keyHash, await sha256(flow.state)));
    await expectProblem(await callback(await authorize(flow, fresh()), flow), 400, "validation_failed");
  });
});

describe("OAuth exchange", () => {
  it("works once: a second exchange of the same code is 401", async () => {
    const code = (await signIn(fresh())).get("code")!;
    const first = await exchange(code);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    await expectProblem(await exchange(code), 401, "unauthorized");
  });

  it("refuses an expired, an unknown and a malformed code", async () => {
    const code = (await signIn(fresh())).get("code")!;
    const [row] = await db()
      .select()
      .from(oauthGrants)
      .where(eq(oauthGrants.keyHash, await sha256(code)));
    expect(row).toMatchObject({ kind: "code", provider: "oidc", usedAt: null });
    const ttl = (Date.parse(row!.expiresAt) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    await db()
      .update(oauthGrants)
      .set({ expiresAt: new Date(Date.now() - 1000).toISOString() })
      .where(eq(oauthGrants.keyHash, await sha256(code)));
    await expectProblem(await exchange(code), 401, "unauthorized");
    await expectProblem(await exchange(randomToken()), 401, "unauthorized");
    const extra = await api("/v1/auth/oauth/exchange", jsonBody({ code: "x", more: 1 }));
    await expectProblem(extra, 400, "validation_failed");
  });

  it("cookie mode sets the HttpOnly refresh cookie and leaves the refresh token out of the body", async () => {
    const code = (await signIn(fresh())).get("code")!;
    // Without an allowed Origin the cookie flow is refused, and the code is not used up.
    await expectProblem(await exchange(code, { "x-auth-mode": "cookie" }), 403, "csrf_failed");
    const res = await exchange(code, { "x-auth-mode": "cookie", origin: "http://app.test" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as AuthBody;
    expect(body.refreshToken).toBeUndefined();
    expect(body.accessToken).toBeTruthy();
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^petrel_rt=[^;]+/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/v1\/auth(;|$)/);
  });

  it("documents the three routes in the OpenAPI document", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
    };
    expect(doc.paths["/v1/auth/oauth/{provider}/start"]?.get?.responses["302"]?.headers).toHaveProperty(
      "Location",
    );
    expect(doc.paths["/v1/auth/oauth/{provider}/callback"]?.get?.responses["302"]?.headers).toHaveProperty(
      "Location",
    );
    expect(doc.paths["/v1/auth/oauth/exchange"]?.post?.responses).toHaveProperty("200");
  });
});
