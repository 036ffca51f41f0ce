import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { isNotNullViolation } from "../../db/errors.ts";
import { memberships, orgs, rooms } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { nowIso, uuidv7 } from "../../lib/ids.ts";
import { dep, invalidate } from "../cache-keys.ts";
import { conflictFrom } from "../identity/users.ts";
import { auditInsert } from "../ops/audit.ts";
import type { OrgRole } from "./rbac.ts";

export type OrgRow = typeof orgs.$inferSelect;

/** An org as its members see it: with the caller's own role. */
export interface OrgView {
  id: string;
  name: string;
  slug: string;
  role: OrgRole;
  createdAt: string;
  updatedAt: string;
}

const toView = (o: OrgRow, role: OrgRole): OrgView => ({
  id: o.id,
  name: o.name,
  slug: o.slug,
  role,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
});

/** A slug from a name: lower-case [a-z0-9-], 3..50 characters. */
export function slugFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return base.length >= 3 ? base : `org-${base || Math.floor(Math.random() * 1e6)}`;
}

/** The caller's membership, read from the database on every call (never from a token or a cache). */
export async function findMembership(ctx: Pick<ServiceContext, "db">, orgId: string, userId: string) {
  const [m] = await ctx.db
    .select({ role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return m;
}

/**
 * Appended to every batch that demotes or removes members: the org must keep an owner.
 * SQLite has no conditional RAISE outside triggers, so when no owner would remain this writes
 * NULL into `orgs.name` (NOT NULL): the statement fails and the whole batch rolls back, audit
 * entry included. Checked inside the batch's transaction, it also holds under concurrent changes.
 */
export function keepAnOwner(ctx: Pick<ServiceContext, "db">, orgId: string) {
  return ctx.db
    .update(orgs)
    .set({
      name: sql`CASE WHEN EXISTS (SELECT 1 FROM ${memberships} WHERE ${memberships.orgId} = ${orgId} AND ${memberships.role} = 'owner') THEN ${orgs.name} ELSE NULL END`,
    })
    .where(eq(orgs.id, orgId));
}

/** Did a batch fail on a guard like keepAnOwner (a NOT NULL violation on `column`)? */
export const isGuardFailure = (err: unknown, column: string): boolean => isNotNullViolation(err, column);

export const lastOwner = () =>
  new ApiError("conflict", "The last owner cannot leave or be demoted: make another member owner first.");

export async function createOrg(
  ctx: ServiceContext,
  userId: string,
  input: { name: string; slug?: string },
): Promise<OrgView> {
  const id = uuidv7();
  const name = input.name.trim();
  let slug = input.slug ?? slugFromName(name);
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.db.batch([
        ctx.db.insert(orgs).values({ id, name, slug, createdBy: userId }),
        ctx.db.insert(memberships).values({ orgId: id, userId, role: "owner" }),
        auditInsert(ctx, {
          action: "org.created",
          actorId: userId,
          targetType: "org",
          targetId: id,
          orgId: id,
          metadata: { slug },
        }),
      ]);
      break;
    } catch (err) {
      const conflict = conflictFrom(err);
      // A derived slug is ours to change; an explicit one is the caller's choice: 409.
      if (conflict?.errors?.[0]?.path === "slug" && input.slug === undefined && attempt < 5) {
        slug = `${slugFromName(name).slice(0, 40)}-${Math.floor(Math.random() * 1e6)}`;
        continue;
      }
      throw conflict ?? err;
    }
  }
  return getOrg(ctx, id, "owner");
}

export async function getOrg(ctx: Pick<ServiceContext, "db">, orgId: string, role: OrgRole) {
  const [org] = await ctx.db.select().from(orgs).where(eq(orgs.id, orgId));
  if (!org) throw new ApiError("not_found", "No such organization.");
  return toView(org, role);
}

/** The orgs the user belongs to, oldest first, with the user's role in each. */
export async function listMyOrgs(ctx: ServiceContext, userId: string, limit: number, cursor?: string) {
  const conds = [eq(memberships.userId, userId)];
  if (cursor) conds.push(gt(orgs.id, cursor));
  const rows = await ctx.db
    .select({ org: orgs, role: memberships.role })
    .from(memberships)
    .innerJoin(orgs, eq(orgs.id, memberships.orgId))
    .where(and(...conds))
    .orderBy(asc(orgs.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => toView(r.org, r.role)),
    nextCursor: rows.length > limit ? page[page.length - 1]!.org.id : null,
  };
}

export async function updateOrg(
  ctx: ServiceContext,
  actor: { userId: string; role: OrgRole },
  orgId: string,
  patch: { name?: string; slug?: string },
) {
  const fields = Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined);
  if (fields.length === 0) return getOrg(ctx, orgId, actor.role);
  try {
    await ctx.db.batch([
      ctx.db
        .update(orgs)
        .set({ name: patch.name?.trim(), slug: patch.slug, updatedAt: nowIso() })
        .where(eq(orgs.id, orgId)),
      auditInsert(ctx, {
        action: "org.updated",
        actorId: actor.userId,
        targetType: "org",
        targetId: orgId,
        orgId,
        metadata: { fields, ...(patch.slug ? { slug: patch.slug } : {}) },
      }),
    ]);
  } catch (err) {
    throw conflictFrom(err) ?? err;
  }
  await invalidate(ctx, dep.org(orgId)); // cache: GET /v1/orgs/:orgId
  return getOrg(ctx, orgId, actor.role);
}

/** Deletes the org; memberships, invitations and rooms go with it (ON DELETE CASCADE, enforced by sqld). */
export async function deleteOrg(ctx: ServiceContext, actorId: string, orgId: string) {
  const org = await getOrg(ctx, orgId, "owner");
  // Its rooms go with it, and their cached access grants: their ids are read in the same batch.
  const [roomIds] = await ctx.db.batch([
    ctx.db.select({ id: rooms.id }).from(rooms).where(eq(rooms.orgId, orgId)),
    ctx.db.delete(orgs).where(eq(orgs.id, orgId)),
    auditInsert(ctx, {
      action: "org.deleted",
      actorId,
      targetType: "org",
      targetId: orgId,
      orgId,
      metadata: { name: org.name, slug: org.slug },
    }),
  ]);
  await invalidate(ctx, dep.org(orgId), dep.orgRooms(orgId), ...roomIds.map((r) => dep.roomGrants(r.id))); // cache
}
