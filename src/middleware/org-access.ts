import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { ID_PATTERN } from "../lib/ids.ts";
import { cachedMembership } from "../services/orgs/member-grant.ts";
import { findMembership } from "../services/orgs/orgs.ts";
import { can, isOrgAction, type OrgAction, type OrgRole } from "../services/orgs/rbac.ts";

/**
 * Authorise an org-scoped route (`:orgId` in the path) against the permission table.
 * The org role is read from the database on every request, never from the JWT, so a demotion
 * or removal applies to the very next request. Not a member (or no such org) → 404, which
 * never reveals whether the org exists; a member whose role is too low → 403.
 * Put it after requireAuth(). Sets `c.var.membership` for the handler. `cached`: for read-only
 * routes, the role comes from the read cache (src/services/orgs/member-grant.ts: invalidated by
 * role changes and removal, never older than REVOCATION_SYNC_MS).
 */
export function requireOrgPermission(action: OrgAction, opts: { cached?: boolean } = {}) {
  if (!isOrgAction(action)) throw new Error(`requireOrgPermission: unknown action ${String(action)}`);
  return createMiddleware<AppEnv>(async function requireOrgPermission(c, next) {
    const auth = c.get("auth");
    if (!auth) throw new ApiError("unauthorized"); // fail closed when mounted without requireAuth()
    const orgId = c.req.param("orgId");
    if (!orgId || !ID_PATTERN.test(orgId)) {
      throw new ApiError("validation_failed", "The request is invalid.", {
        errors: [{ path: "orgId", message: "must be a lower-case UUID" }],
      });
    }
    const ctx = c.get("ctx");
    const membership = opts.cached
      ? await cachedMembership(ctx, orgId, auth.userId)
      : await findMembership(ctx, orgId, auth.userId);
    if (!membership) throw new ApiError("not_found", "No such organization.");
    if (!can(membership.role, action)) {
      throw new ApiError("forbidden", `Your role in this organization (${membership.role}) cannot do this.`);
    }
    c.set("membership", { orgId, role: membership.role });
    await next();
  });
}

/** The membership that requireOrgPermission() loaded; fails closed when the guard is missing. */
export function orgMember(c: Context<AppEnv>): { userId: string; orgId: string; role: OrgRole } {
  const m = c.get("membership");
  const auth = c.get("auth");
  if (!m || !auth) throw new Error("orgMember(): the route lacks requireOrgPermission()");
  return { userId: auth.userId, ...m };
}
