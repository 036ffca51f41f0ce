import { and, eq, gt, isNull } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { emailTokens, users } from "../../db/schema.ts";
import { randomToken, sha256 } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { resetPasswordMail, verifyEmailMail } from "../notifications/mail-templates.ts";
import { auditInsert } from "../ops/audit.ts";
import { getUser, normalizeEmail } from "./users.ts";

// One-time tokens sent by email (verification, password reset): stored only as a hash.
export async function emailToken(
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

export function sendMail(ctx: ServiceContext, mail: Parameters<ServiceContext["mailer"]["send"]>[0]) {
  ctx.defer(
    ctx.mailer
      .send(mail)
      .catch((err) => ctx.log.error("mail delivery failed", { subject: mail.subject, error: String(err) })),
  );
}
export async function consumeEmailToken(
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
