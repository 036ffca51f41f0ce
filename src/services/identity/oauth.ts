import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { fetchIdentity, type OAuthIdentity } from "../../adapters/oauth-identity.ts";
import {
  authorizationUrl,
  isOidc,
  OAuthFlowError,
  type ProviderConfig,
} from "../../adapters/oauth-providers.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { oauthAccounts, oauthGrants, users } from "../../db/schema.ts";
import { randomToken, sha256, timingSafeEqual } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { storableLine } from "../../lib/text.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { audit, auditInsert } from "../ops/audit.ts";
import { type AuthResult, startSession } from "./credentials.ts";
import { revokeSessions } from "./sessions.ts";
import { conflictFrom, handleFromName, normalizeEmail, type UserRow } from "./users.ts";

/**
 * The OAuth sign-in flow: start (state + PKCE + nonce, only hashes of state stored) → callback
 * (state checked against the browser's cookie and consumed once, code redeemed, identity linked)
 * → a one-time code handed to the app → exchange for a session.
 */
export const FLOW_TTL_SECONDS = 600;
const CODE_TTL_SECONDS = 60;

export function findProvider(ctx: ServiceContext, id: string): ProviderConfig {
  const p = ctx.config.OAUTH_PROVIDERS.get(id);
  if (!p) throw new ApiError("not_found", "No such OAuth provider.");
  return p;
}

const redirectUri = (ctx: ServiceContext, p: ProviderConfig) =>
  `${ctx.config.PUBLIC_API_URL.replace(/\/$/, "")}/v1/auth/oauth/${p.id}/callback`;

function appRedirect(ctx: ServiceContext, params: Record<string, string>) {
  const url = new URL(`${ctx.config.APP_URL.replace(/\/$/, "")}/oauth/callback`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

export async function startFlow(ctx: ServiceContext, p: ProviderConfig) {
  const state = randomToken();
  const verifier = randomToken(); // 43 characters of base64url: a valid RFC 7636 verifier
  const nonce = isOidc(p) ? randomToken(16) : null;
  // S256: BASE64URL(SHA-256(verifier)), which is exactly what sha256() returns.
  const location = await authorizationUrl(p, {
    state,
    codeChallenge: await sha256(verifier),
    nonce,
    redirectUri: redirectUri(ctx, p),
  });
  await ctx.db.insert(oauthGrants).values({
    keyHash: await sha256(state),
    kind: "flow",
    provider: p.id,
    verifier,
    nonce,
    expiresAt: isoIn(FLOW_TTL_SECONDS),
  });
  ctx.defer(
    ctx.db
      .delete(oauthGrants)
      .where(lt(oauthGrants.expiresAt, nowIso()))
      .catch((err) => ctx.log.warn("oauth grant cleanup failed", { error: String(err) })),
  );
  return { location, state };
}

const invalidState = (message: string) =>
  new ApiError("validation_failed", "The sign-in request is invalid, expired or already used. Start again.", {
    errors: [{ path: "state", message }],
  });

/** Mark a grant used, atomically: only the first caller gets the row. */
async function consume(ctx: ServiceContext, key: string, kind: "flow" | "code", provider?: string) {
  const conds = [
    eq(oauthGrants.keyHash, await sha256(key)),
    eq(oauthGrants.kind, kind),
    isNull(oauthGrants.usedAt),
    gt(oauthGrants.expiresAt, nowIso()),
  ];
  if (provider) conds.push(eq(oauthGrants.provider, provider));
  const [row] = await ctx.db
    .update(oauthGrants)
    .set({ usedAt: nowIso() })
    .where(and(...conds))
    .returning();
  return row;
}

/** The callback: returns where to send the browser (the app, with `code` or `error`). */
export async function completeFlow(
  ctx: ServiceContext,
  p: ProviderConfig,
  input: {
    state: string;
    code?: string | undefined;
    error?: string | undefined;
    cookieState?: string | undefined;
  },
): Promise<string> {
  if (!input.code && !input.error) {
    throw new ApiError("validation_failed", "The provider sent neither a code nor an error.", {
      errors: [{ path: "code", message: "required" }],
    });
  }
  // Login CSRF: the state must come back to the browser that started the flow.
  if (!input.cookieState) throw invalidState("no state cookie: start the sign-in in this browser");
  if (!timingSafeEqual(input.cookieState, input.state)) throw invalidState("does not match this browser");
  const flow = await consume(ctx, input.state, "flow", p.id);
  if (!flow?.verifier) throw invalidState("invalid, expired or already used");

  try {
    if (input.error) {
      // Pass the provider's code through only when it looks like an RFC 6749 error code.
      throw new OAuthFlowError(
        /^[a-z_]{1,64}$/.test(input.error) ? input.error : "server_error",
        "provider error",
      );
    }
    const identity = await fetchIdentity(p, {
      code: input.code!,
      verifier: flow.verifier,
      nonce: flow.nonce,
      redirectUri: redirectUri(ctx, p),
      clockSkewSeconds: ctx.config.CLOCK_SKEW_SECONDS,
    });
    const userId = await resolveUser(ctx, p, identity);
    const code = randomToken();
    await ctx.db.insert(oauthGrants).values({
      keyHash: await sha256(code),
      kind: "code",
      provider: p.id,
      userId,
      expiresAt: isoIn(CODE_TTL_SECONDS),
    });
    return appRedirect(ctx, { code });
  } catch (err) {
    if (!(err instanceof OAuthFlowError)) throw err;
    ctx.log.info("oauth sign-in refused", { provider: p.id, reason: err.code, detail: err.message });
    await audit(ctx, { action: "user.oauth_refused", metadata: { provider: p.id, reason: err.code } });
    return appRedirect(ctx, { error: err.code });
  }
}

/**
 * Who signed in: the linked user; else the user with that email if the provider verified it
 * (never on an unverified email); else a new user. Unique-constraint races retry once.
 */
async function resolveUser(ctx: ServiceContext, p: ProviderConfig, id: OAuthIdentity): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const [link] = await ctx.db
      .select({ userId: users.id, disabledAt: users.disabledAt })
      .from(oauthAccounts)
      .innerJoin(users, eq(users.id, oauthAccounts.userId))
      .where(and(eq(oauthAccounts.provider, p.id), eq(oauthAccounts.subject, id.subject)));
    if (link) {
      if (link.disabledAt) throw new OAuthFlowError("account_disabled", "the linked account is disabled");
      return link.userId;
    }
    if (!id.email) throw new OAuthFlowError("email_required", "the provider shared no email address");
    if (!id.emailVerified)
      throw new OAuthFlowError("email_unverified", "the provider has not verified the email");
    const email = normalizeEmail(id.email);
    const [existing] = await ctx.db.select().from(users).where(eq(users.email, email));
    try {
      if (existing) return await linkExisting(ctx, p, id, existing);
      return await createUser(ctx, p, id, email);
    } catch (err) {
      if (attempt > 0 || !conflictFrom(err)) throw err;
    }
  }
}

async function linkExisting(ctx: ServiceContext, p: ProviderConfig, id: OAuthIdentity, user: UserRow) {
  if (user.disabledAt) throw new OAuthFlowError("account_disabled", "the account is disabled");
  // The account never proved it owns this address, the provider just did: whoever set its
  // password may not own the mailbox (pre-account takeover), so that password and its sessions go.
  const unproven = user.emailVerifiedAt === null;
  await ctx.db.batch([
    ctx.db
      .insert(oauthAccounts)
      .values({ provider: p.id, subject: id.subject, userId: user.id, email: user.email }),
    ctx.db
      .update(users)
      .set(
        unproven
          ? { emailVerifiedAt: nowIso(), passwordHash: null, updatedAt: nowIso() }
          : { updatedAt: nowIso() },
      )
      .where(eq(users.id, user.id)),
    auditInsert(ctx, {
      action: "user.oauth_linked",
      actorId: user.id,
      targetType: "user",
      targetId: user.id,
      metadata: { provider: p.id, passwordCleared: unproven && user.passwordHash !== null },
    }),
  ]);
  await invalidate(ctx, dep.user(user.id)); // cache: GET /v1/me (emailVerified)
  if (unproven) await revokeSessions(ctx, { userId: user.id, reason: "oauth_email_proof", actorId: user.id });
  return user.id;
}

async function createUser(ctx: ServiceContext, p: ProviderConfig, id: OAuthIdentity, email: string) {
  const userId = uuidv7();
  // Provider names were made storable in oauth-providers.ts; the email fallback is cut the same way.
  const name = id.name ?? storableLine(email.split("@")[0]!, 100) ?? "user";
  let handle = handleFromName(name);
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.db.batch([
        ctx.db
          .insert(users)
          .values({ id: userId, email, passwordHash: null, emailVerifiedAt: nowIso(), name, handle }),
        ctx.db.insert(oauthAccounts).values({ provider: p.id, subject: id.subject, userId, email }),
        auditInsert(ctx, {
          action: "user.oauth_registered",
          actorId: userId,
          targetType: "user",
          targetId: userId,
          metadata: { provider: p.id },
        }),
      ]);
      return userId;
    } catch (err) {
      if (conflictFrom(err)?.errors?.[0]?.path === "handle" && attempt < 5) {
        handle = `${handleFromName(name).slice(0, 24)}_${Math.floor(Math.random() * 1e5)}`;
        continue;
      }
      throw err;
    }
  }
}

/** The app trades the one-time code (60 s, single use) for a session. */
export async function exchangeCode(ctx: ServiceContext, code: string): Promise<AuthResult> {
  const grant = await consume(ctx, code, "code");
  const [user] = grant?.userId
    ? await ctx.db.select({ disabledAt: users.disabledAt }).from(users).where(eq(users.id, grant.userId))
    : [];
  if (!grant?.userId || !user || user.disabledAt) {
    throw new ApiError("unauthorized", "The code is invalid, expired or already used.");
  }
  return startSession(ctx, grant.userId);
}
