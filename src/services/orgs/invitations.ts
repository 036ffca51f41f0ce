import { and, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Mail } from "../../adapters/mailer.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { invitations, memberships, users } from "../../db/schema.ts";
import { randomToken, sha256 } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { conflictFrom, getUser, normalizeEmail } from "../identity/users.ts";
import { invitationMail } from "../notifications/mail-templates.ts";
import { auditInsert } from "../ops/audit.ts";
import { dispatchWebhooks, webhookEvents } from "../webhooks/outbox.ts";
import { payload } from "../webhooks/payloads.ts";
import type { Actor } from "./members.ts";
import { findMembership, getOrg, isGuardFailure } from "./orgs.ts";
import { canGrant, type OrgRole } from "./rbac.ts";

type InvitationRow = typeof invitations.$inferSelect;

export interface InvitationView {
  id: string;
  orgId: string;
  email: string;
  role: OrgRole;
  invitedBy: string | null;
  expiresAt: string;
  createdAt: string;
}

const toView = (i: InvitationRow): InvitationView => ({
  id: i.id,
  orgId: i.orgId,
  email: i.email,
  role: i.role,
  invitedBy: i.invitedBy,
  expiresAt: i.expiresAt,
  createdAt: i.createdAt,
});

const isPending = (i: InvitationRow) => !i.acceptedAt && !i.revokedAt && i.expiresAt > nowIso();

/**
 * For the batch that accepts or revokes an invitation: fails it (NOT NULL on invitations.email)
 * unless the invitation is still pending inside the transaction, so accept and revoke cannot
 * both win and an invitation is accepted at most once.
 */
const emailIfPending = () =>
  sql`CASE WHEN ${invitations.acceptedAt} IS NULL AND ${invitations.revokedAt} IS NULL AND ${invitations.expiresAt} > ${nowIso()} THEN ${invitations.email} ELSE NULL END`;

function sendMail(ctx: ServiceContext, mail: Mail) {
  ctx.defer(
    ctx.mailer
      .send(mail)
      .catch((err) => ctx.log.error("mail delivery failed", { subject: mail.subject, error: String(err) })),
  );
}

/**
 * Invite an email address to the org with a role the inviter may grant. The token goes only
 * into the mail; the database keeps its SHA-256.
 * `inviteeUserId` is the hook for notifications: the id of the account that already owns this
 * email (null when there is none). It must never reach the HTTP response (account enumeration).
 */
export async function createInvitation(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  input: { email: string; role: OrgRole },
): Promise<{ invitation: InvitationView; inviteeUserId: string | null }> {
  if (!canGrant(actor.role, input.role)) {
    throw new ApiError("forbidden", `As ${actor.role} you cannot invite someone as ${input.role}.`);
  }
  const email = normalizeEmail(input.email);
  const [invitee] = await ctx.db
    .select({ id: users.id, memberRole: memberships.role })
    .from(users)
    .leftJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.orgId, orgId)))
    .where(eq(users.email, email));
  if (invitee?.memberRole) {
    throw new ApiError("conflict", "This person is already a member.", {
      errors: [{ path: "email", message: "already a member" }],
    });
  }
  const pending = await ctx.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.email, email)));
  if (pending.some(isPending)) {
    throw new ApiError("conflict", "A pending invitation for this email exists: revoke it first.", {
      errors: [{ path: "email", message: "already invited" }],
    });
  }
  const org = await getOrg(ctx, orgId, actor.role);
  const token = randomToken();
  const row = {
    id: uuidv7(),
    orgId,
    email,
    role: input.role,
    tokenHash: await sha256(token),
    invitedBy: actor.userId,
    expiresAt: isoIn(ctx.config.INVITATION_TTL),
  };
  await ctx.db.batch([
    ctx.db.insert(invitations).values(row),
    auditInsert(ctx, {
      action: "org.invitation_created",
      actorId: actor.userId,
      targetType: "invitation",
      targetId: row.id,
      orgId,
      metadata: { email, role: input.role },
    }),
  ]);
  sendMail(ctx, invitationMail(email, ctx.config.APP_URL, org.name, input.role, token));
  const [created] = await ctx.db.select().from(invitations).where(eq(invitations.id, row.id));
  return { invitation: toView(created!), inviteeUserId: invitee?.id ?? null };
}

/** Pending invitations (not accepted, revoked or expired), newest first. */
export async function listPendingInvitations(
  ctx: ServiceContext,
  orgId: string,
  limit: number,
  cursor?: string,
) {
  const conds = [
    eq(invitations.orgId, orgId),
    isNull(invitations.acceptedAt),
    isNull(invitations.revokedAt),
    gt(invitations.expiresAt, nowIso()),
  ];
  if (cursor) conds.push(lt(invitations.id, cursor));
  const rows = await ctx.db
    .select()
    .from(invitations)
    .where(and(...conds))
    .orderBy(desc(invitations.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return { items: page.map(toView), nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
}

/** Revoke a pending invitation; only one whose role the caller could have granted. */
export async function revokeInvitation(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  invitationId: string,
) {
  const [inv] = await ctx.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.id, invitationId), eq(invitations.orgId, orgId)));
  if (!inv || !isPending(inv)) throw new ApiError("not_found", "No such pending invitation.");
  if (!canGrant(actor.role, inv.role)) {
    throw new ApiError("forbidden", `As ${actor.role} you cannot revoke an invitation as ${inv.role}.`);
  }
  await ctx.db
    .batch([
      ctx.db
        .update(invitations)
        .set({ revokedAt: nowIso(), email: emailIfPending() })
        .where(eq(invitations.id, inv.id)),
      auditInsert(ctx, {
        action: "org.invitation_revoked",
        actorId: actor.userId,
        targetType: "invitation",
        targetId: inv.id,
        orgId,
        metadata: { email: inv.email, role: inv.role },
      }),
    ])
    .catch((err) => {
      if (isGuardFailure(err, "invitations.email"))
        throw new ApiError("not_found", "No such pending invitation.");
      throw err;
    });
}

const gone = () => new ApiError("gone", "This invitation has expired, was revoked or was already used.");

/**
 * Join the org with the invitation's token. The token proves access to the invited mailbox; the
 * caller's account must carry that same email (case-insensitive) AND have verified it, so a token
 * that leaked (a forwarded mail) cannot be used by someone who registered that address without
 * owning it. The inviter must still be a member who may grant the role: an invitation does not
 * outlive its inviter's right.
 */
export async function acceptInvitation(ctx: ServiceContext, userId: string, token: string) {
  const [inv] = await ctx.db
    .select()
    .from(invitations)
    .where(eq(invitations.tokenHash, await sha256(token)));
  if (!inv) throw new ApiError("not_found", "No such invitation.");
  if (!isPending(inv)) throw gone();
  const user = await getUser(ctx, userId);
  if (normalizeEmail(user.email) !== inv.email) {
    throw new ApiError("forbidden", "This invitation was sent to another email address.");
  }
  const inviter = inv.invitedBy ? await findMembership(ctx, inv.orgId, inv.invitedBy) : undefined;
  if (!inviter || !canGrant(inviter.role, inv.role)) throw gone();
  if (await findMembership(ctx, inv.orgId, userId)) {
    throw new ApiError("conflict", "You are already a member of this organization.");
  }
  if (!user.emailVerifiedAt) {
    throw new ApiError("email_not_verified", "Verify your email address, then accept the invitation.");
  }
  const joined = await webhookEvents(ctx, inv.orgId, "member.added", payload.member(inv.orgId, userId));
  await ctx.db
    .batch([
      ctx.db
        .update(invitations)
        .set({ acceptedAt: nowIso(), acceptedBy: userId, email: emailIfPending() })
        .where(eq(invitations.id, inv.id)),
      ctx.db.insert(memberships).values({ orgId: inv.orgId, userId, role: inv.role }),
      ...joined.statements,
      auditInsert(ctx, {
        action: "org.invitation_accepted",
        actorId: userId,
        targetType: "invitation",
        targetId: inv.id,
        orgId: inv.orgId,
        metadata: { role: inv.role },
      }),
    ])
    .catch((err) => {
      if (isGuardFailure(err, "invitations.email")) throw gone();
      if (conflictFrom(err)) throw new ApiError("conflict", "You are already a member of this organization.");
      throw err;
    });
  dispatchWebhooks(ctx, joined);
  return getOrg(ctx, inv.orgId, inv.role);
}
