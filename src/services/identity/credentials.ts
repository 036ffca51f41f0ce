import { eq } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { emailTokens, users } from "../../db/schema.ts";
import { sha256 } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso, uuidv7 } from "../../lib/ids.ts";
import { verifyEmailMail } from "../notifications/mail-templates.ts";
import { audit, auditInsert } from "../ops/audit.ts";
import { consumeEmailToken, emailToken, sendMail } from "./email-tokens.ts";
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

// Credentials: how a user proves who they are (register, login, password change and reset).
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
  await storePassword(ctx, userId, input.newPassword, "user.password_changed");
  await revokeSessions(ctx, {
    userId,
    exceptSessionId: sessionId,
    reason: "password_changed",
    actorId: userId,
  });
}
export async function resetPassword(ctx: ServiceContext, token: string, newPassword: string) {
  const [row] = await ctx.db
    .select({ userId: emailTokens.userId, email: users.email })
    .from(emailTokens)
    .innerJoin(users, eq(users.id, emailTokens.userId))
    .where(eq(emailTokens.tokenHash, await sha256(token)));
  if (row) checkPasswordStrength(newPassword, row.email); // check before consuming the token
  const userId = await consumeEmailToken(ctx, token, "reset_password");
  await storePassword(ctx, userId, newPassword, "user.password_reset");
  await revokeSessions(ctx, { userId, reason: "password_reset", actorId: userId });
}

/** A new password's hash and its audit entry, in one batch (change and reset). */
async function storePassword(
  ctx: ServiceContext,
  userId: string,
  password: string,
  action: "user.password_changed" | "user.password_reset",
) {
  const passwordHash = await hashPassword(password, ctx.config.PASSWORD_ITERATIONS);
  await ctx.db.batch([
    ctx.db.update(users).set({ passwordHash, updatedAt: nowIso() }).where(eq(users.id, userId)),
    auditInsert(ctx, { action, actorId: userId, targetType: "user", targetId: userId }),
  ]);
}
