import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { emailTokens, memberships, orgs, users } from "../../db/schema.ts";
import { randomToken, sha256 } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { dep, depsOfUserContent, invalidate } from "../cache-keys.ts";
import { resetPasswordMail, verifyEmailMail } from "../notifications/mail-templates.ts";
import { audit, auditInsert } from "../ops/audit.ts";
import { isGuardFailure, keepAnOwner } from "../orgs/orgs.ts";
import { hashPassword, verifyDummy, verifyPassword } from "./passwords.ts";
import { issueTokens, newSession, revokeSessions } from "./sessions.ts";
import {
  conflictFrom,
  getUser,
  handleFromName,
  normalizeEmail,
  type PublicUser,
  toPublicUser,
} from "./users.ts";

export interface AuthResult {
  user: PublicUser;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

// Passwords people pick first; refused outright (a full breach list does not fit a Worker).
const COMMON = new Set([
  "password",
  "password1",
  "password123",
  "1234567890",
  "qwertyuiop",
  "iloveyou12",
  "letmein123",
  "welcome123",
  "changeme123",
  "passw0rd123",
  "administrator",
  "qwerty12345",
  "0123456789",
  "abc1234567",
]);

/** Length is what matters (NIST 800-63B): 10..128 characters, not common, not the email. */
export function checkPasswordStrength(password: string, email: string) {
  const problems: string[] = [];
  if ([...password].length < 10) problems.push("must be at least 10 characters");
  if ([...password].length > 128) problems.push("must be at most 128 characters");
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) problems.push("is too common");
  if (new Set(lower).size < 4) problems.push("is too repetitive");
  const local = email.split("@")[0]!.toLowerCase();
  if (local.length >= 4 && lower.includes(local)) problems.push("must not contain your email address");
  if (problems.length) {
    throw new ApiError("validation_failed", "The password is too weak.", {
      errors: problems.map((message) => ({ path: "password", message })),
    });
  }
}

async function emailToken(
  ctx: ServiceContext,
  userId: string,
  purpose: "verify_email" | "reset_password",
  ttl: number,
) {
  const token = randomToken();
  const insert = ctx.db
    .insert(emailTokens)
    .values({ id: uuidv7(), userId, purpose, tokenHash: await sha256(token), expiresAt: isoIn(ttl) });
  return { token, insert };
}

function sendMail(ctx: ServiceContext, mail: Parameters<ServiceContext["mailer"]["send"]>[0]) {
  ctx.defer(
    ctx.mailer
      .send(mail)
      .catch((err) => ctx.log.error("mail delivery failed", { subject: mail.subject, error: String(err) })),
  );
}

export async function register(
  ctx: ServiceContext,
  input: { email: string; password: string; name: string; handle?: string },
): Promise<AuthResult> {
  const email = normalizeEmail(input.email);
  checkPasswordStrength(input.password, email);
  const id = uuidv7();
  const passwordHash = await hashPassword(input.password, ctx.config.PASSWORD_ITERATIONS);
  const session = await newSession(ctx, id);
  const verify = await emailToken(ctx, id, "verify_email", ctx.config.EMAIL_TOKEN_TTL);
  const explicitHandle = input.handle !== undefined;
  let handle = input.handle ?? handleFromName(input.name);
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.db.batch([
        ctx.db.insert(users).values({ id, email, passwordHash, name: input.name.trim(), handle }),
        session.insert,
        verify.insert,
        auditInsert(ctx, { action: "user.register", actorId: id, targetType: "user", targetId: id }),
      ]);
      break;
    } catch (err) {
      const conflict = conflictFrom(err);
      const handleTaken = conflict?.errors?.[0]?.path === "handle";
      if (handleTaken && !explicitHandle && attempt < 5) {
        handle = `${handleFromName(input.name).slice(0, 24)}_${Math.floor(Math.random() * 1e5)}`;
        continue;
      }
      throw conflict ?? err;
    }
  }
  sendMail(ctx, verifyEmailMail(email, ctx.config.APP_URL, verify.token));
  const user = await getUser(ctx, id);
  const tokens = await issueTokens(ctx, user, session);
  return { user: toPublicUser(user), ...tokens };
}

const invalidCredentials = () => new ApiError("invalid_credentials", "The email or password is wrong.");

export async function login(
  ctx: ServiceContext,
  input: { email: string; password: string },
): Promise<AuthResult> {
  const email = normalizeEmail(input.email);
  const [user] = await ctx.db.select().from(users).where(eq(users.email, email));
  if (!user?.passwordHash || user.disabledAt) {
    // Same work and the same answer for an unknown email as for a wrong password.
    await verifyDummy(input.password, ctx.config.PASSWORD_ITERATIONS);
    await audit(ctx, {
      action: "user.login_failed",
      actorId: user?.id ?? null,
      targetType: "user",
      targetId: user?.id ?? null,
      metadata: { reason: user ? "disabled_or_no_password" : "unknown_email" },
    });
    throw invalidCredentials();
  }
  const result = await verifyPassword(input.password, user.passwordHash, ctx.config.PASSWORD_ITERATIONS);
  if (!result.ok) {
    await audit(ctx, {
      action: "user.login_failed",
      actorId: user.id,
      targetType: "user",
      targetId: user.id,
      metadata: { reason: "wrong_password" },
    });
    throw invalidCredentials();
  }
  const session = await newSession(ctx, user.id);
  const writes = [
    session.insert,
    auditInsert(ctx, {
      action: "user.login",
      actorId: user.id,
      targetType: "session",
      targetId: session.sessionId,
    }),
  ] as const;
  if (result.needsRehash) {
    // Parameters changed since this hash was made: upgrade it transparently.
    const passwordHash = await hashPassword(input.password, ctx.config.PASSWORD_ITERATIONS);
    await ctx.db.batch([
      ...writes,
      ctx.db.update(users).set({ passwordHash, updatedAt: nowIso() }).where(eq(users.id, user.id)),
    ]);
  } else {
    await ctx.db.batch(writes);
  }
  const tokens = await issueTokens(ctx, user, session);
  return { user: toPublicUser(user), ...tokens };
}

/** A session for a user who proved their identity elsewhere (OAuth exchange). */
export async function startSession(ctx: ServiceContext, userId: string): Promise<AuthResult> {
  const user = await getUser(ctx, userId);
  const session = await newSession(ctx, user.id);
  await ctx.db.batch([
    session.insert,
    auditInsert(ctx, {
      action: "user.oauth_login",
      actorId: user.id,
      targetType: "session",
      targetId: session.sessionId,
    }),
  ]);
  return { user: toPublicUser(user), ...(await issueTokens(ctx, user, session)) };
}

export async function logout(ctx: ServiceContext, userId: string, sessionId: string) {
  await revokeSessions(ctx, { sessionIds: [sessionId], reason: "logout", actorId: userId, audit: null });
  await audit(ctx, { action: "user.logout", actorId: userId, targetType: "session", targetId: sessionId });
}

export async function updateProfile(
  ctx: ServiceContext,
  userId: string,
  patch: { name?: string; handle?: string },
) {
  if (patch.name === undefined && patch.handle === undefined) return toPublicUser(await getUser(ctx, userId));
  try {
    await ctx.db.batch([
      ctx.db
        .update(users)
        .set({ ...patch, name: patch.name?.trim(), updatedAt: nowIso() })
        .where(eq(users.id, userId)),
      auditInsert(ctx, {
        action: "user.updated",
        actorId: userId,
        targetType: "user",
        targetId: userId,
        metadata: { fields: Object.keys(patch) },
      }),
    ]);
  } catch (err) {
    throw conflictFrom(err) ?? err;
  }
  await invalidate(ctx, dep.user(userId)); // cache: GET /v1/me
  return toPublicUser(await getUser(ctx, userId));
}

export async function changePassword(
  ctx: ServiceContext,
  userId: string,
  sessionId: string,
  input: { currentPassword: string; newPassword: string },
) {
  const user = await getUser(ctx, userId);
  const ok = user.passwordHash
    ? (await verifyPassword(input.currentPassword, user.passwordHash, ctx.config.PASSWORD_ITERATIONS)).ok
    : false;
  if (!ok) throw new ApiError("invalid_credentials", "The current password is wrong.");
  checkPasswordStrength(input.newPassword, user.email);
  const passwordHash = await hashPassword(input.newPassword, ctx.config.PASSWORD_ITERATIONS);
  await ctx.db.batch([
    ctx.db.update(users).set({ passwordHash, updatedAt: nowIso() }).where(eq(users.id, userId)),
    auditInsert(ctx, {
      action: "user.password_changed",
      actorId: userId,
      targetType: "user",
      targetId: userId,
    }),
  ]);
  await revokeSessions(ctx, {
    userId,
    exceptSessionId: sessionId,
    reason: "password_changed",
    actorId: userId,
  });
}

async function consumeEmailToken(
  ctx: ServiceContext,
  token: string,
  purpose: "verify_email" | "reset_password",
) {
  const rows = await ctx.db
    .update(emailTokens)
    .set({ usedAt: nowIso() })
    .where(
      and(
        eq(emailTokens.tokenHash, await sha256(token)),
        eq(emailTokens.purpose, purpose),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, nowIso()),
      ),
    )
    .returning({ userId: emailTokens.userId });
  if (!rows[0])
    throw new ApiError("validation_failed", "The token is invalid, expired or already used.", {
      errors: [{ path: "token", message: "invalid or expired" }],
    });
  return rows[0].userId;
}

export async function verifyEmail(ctx: ServiceContext, token: string) {
  const userId = await consumeEmailToken(ctx, token, "verify_email");
  await ctx.db.batch([
    ctx.db
      .update(users)
      .set({ emailVerifiedAt: nowIso(), updatedAt: nowIso() })
      .where(and(eq(users.id, userId), isNull(users.emailVerifiedAt))),
    auditInsert(ctx, {
      action: "user.email_verified",
      actorId: userId,
      targetType: "user",
      targetId: userId,
    }),
  ]);
  await invalidate(ctx, dep.user(userId)); // cache: GET /v1/me (emailVerified)
}

export async function resendVerification(ctx: ServiceContext, userId: string) {
  const user = await getUser(ctx, userId);
  if (user.emailVerifiedAt) return;
  const verify = await emailToken(ctx, userId, "verify_email", ctx.config.EMAIL_TOKEN_TTL);
  await verify.insert;
  sendMail(ctx, verifyEmailMail(user.email, ctx.config.APP_URL, verify.token));
}

/** Always succeeds from the caller's point of view: no account enumeration. The work runs after the response. */
export function forgotPassword(ctx: ServiceContext, rawEmail: string) {
  const email = normalizeEmail(rawEmail);
  const work = (async () => {
    const [user] = await ctx.db.select().from(users).where(eq(users.email, email));
    if (!user || user.disabledAt) return;
    const reset = await emailToken(ctx, user.id, "reset_password", ctx.config.RESET_TOKEN_TTL);
    await ctx.db.batch([
      reset.insert,
      auditInsert(ctx, {
        action: "user.password_reset_requested",
        actorId: user.id,
        targetType: "user",
        targetId: user.id,
      }),
    ]);
    await ctx.mailer.send(resetPasswordMail(email, ctx.config.APP_URL, reset.token));
  })().catch((err) => ctx.log.error("password reset mail failed", { error: String(err) }));
  ctx.defer(work);
}

export async function resetPassword(ctx: ServiceContext, token: string, newPassword: string) {
  const [row] = await ctx.db
    .select({ userId: emailTokens.userId, email: users.email })
    .from(emailTokens)
    .innerJoin(users, eq(users.id, emailTokens.userId))
    .where(eq(emailTokens.tokenHash, await sha256(token)));
  if (row) checkPasswordStrength(newPassword, row.email); // check before consuming the token
  const userId = await consumeEmailToken(ctx, token, "reset_password");
  const passwordHash = await hashPassword(newPassword, ctx.config.PASSWORD_ITERATIONS);
  await ctx.db.batch([
    ctx.db.update(users).set({ passwordHash, updatedAt: nowIso() }).where(eq(users.id, userId)),
    auditInsert(ctx, {
      action: "user.password_reset",
      actorId: userId,
      targetType: "user",
      targetId: userId,
    }),
  ]);
  await revokeSessions(ctx, { userId, reason: "password_reset", actorId: userId });
}

export async function deleteAccount(ctx: ServiceContext, userId: string) {
  const owned = await ctx.db
    .select({ orgId: memberships.orgId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.role, "owner")));
  const soleOrgs: string[] = [];
  for (const { orgId } of owned) {
    const members = await ctx.db
      .select({ userId: memberships.userId, role: memberships.role })
      .from(memberships)
      .where(eq(memberships.orgId, orgId));
    const otherOwners = members.filter((m) => m.userId !== userId && m.role === "owner");
    if (members.length > 1 && otherOwners.length === 0) {
      throw new ApiError(
        "conflict",
        "You own an organization with other members: transfer ownership first.",
        { errors: [{ path: "orgId", message: orgId }] },
      );
    }
    if (members.length === 1) soleOrgs.push(orgId);
  }
  await revokeSessions(ctx, { userId, reason: "account_deleted", actorId: userId, audit: null });
  const cached = await depsOfUserContent(ctx, userId); // cache: their messages go with them
  // Orgs the user co-owns must still have an owner once the user's memberships are gone (checked
  // inside the transaction, so a co-owner leaving at the same moment cannot orphan the org).
  const shared = owned.map((o) => o.orgId).filter((id) => !soleOrgs.includes(id));
  await ctx.db
    .batch([
      ctx.db.delete(orgs).where(inArray(orgs.id, soleOrgs.length ? soleOrgs : [""])),
      ctx.db.delete(users).where(eq(users.id, userId)),
      auditInsert(ctx, { action: "user.deleted", actorId: userId, targetType: "user", targetId: userId }),
      ...shared.map((orgId) => keepAnOwner(ctx, orgId)),
    ])
    .catch((err) => {
      if (isGuardFailure(err, "orgs.name"))
        throw new ApiError(
          "conflict",
          "You own an organization with other members: transfer ownership first.",
        );
      throw err;
    });
  await invalidate(ctx, dep.user(userId), ...cached);
}
