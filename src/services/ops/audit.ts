import type { ServiceContext } from "../../context/service-context.ts";
import { auditLog } from "../../db/schema.ts";
import { uuidv7 } from "../../lib/ids.ts";

export type AuditAction =
  | "user.register"
  | "user.login"
  | "user.login_failed"
  | "user.logout"
  | "user.password_changed"
  | "user.password_reset_requested"
  | "user.password_reset"
  | "user.email_verified"
  | "user.updated"
  | "user.deleted"
  | "user.oauth_login"
  | "user.oauth_linked"
  | "user.oauth_registered"
  | "user.oauth_refused"
  | "session.refresh_reuse"
  | "session.revoked"
  | "org.created"
  | "org.updated"
  | "org.deleted"
  | "org.member_role_changed"
  | "org.member_removed"
  | "org.member_left"
  | "org.invitation_created"
  | "org.invitation_revoked"
  | "org.invitation_accepted"
  | "admin.user_updated"
  | "admin.user_role_changed"
  | "admin.user_disabled"
  | "admin.user_enabled"
  | "webhook.created"
  | "webhook.updated"
  | "webhook.deleted"
  | "webhook.secret_rotated"
  | "webhook.disabled";

export interface AuditEntry {
  action: AuditAction;
  actorId?: string | null;
  targetType?: string;
  targetId?: string | null;
  orgId?: string | null;
  metadata?: Record<string, unknown>;
}

/** The insert for one audit entry; callers add it to the same batch as the change it records. */
export function auditInsert(ctx: Pick<ServiceContext, "db" | "meta">, e: AuditEntry) {
  return ctx.db.insert(auditLog).values({
    id: uuidv7(),
    action: e.action,
    actorId: e.actorId ?? null,
    targetType: e.targetType ?? null,
    targetId: e.targetId ?? null,
    orgId: e.orgId ?? null,
    ip: ctx.meta.ip,
    userAgent: ctx.meta.userAgent?.slice(0, 512) ?? null,
    requestId: ctx.meta.requestId,
    metadata: e.metadata ?? null,
  });
}

export async function audit(ctx: Pick<ServiceContext, "db" | "meta">, e: AuditEntry): Promise<void> {
  await auditInsert(ctx, e);
}
