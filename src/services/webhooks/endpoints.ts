import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { CacheKey } from "../../adapters/cache.ts";
import type { ServiceContext } from "../../context/service-context.ts";
import { webhookEndpoints } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";
import { isoIn, nowIso, uuidv7 } from "../../lib/ids.ts";
import { auditInsert } from "../ops/audit.ts";
import { ROTATION_OVERLAP_MS } from "./event-types.ts";
import { encryptSecret, newWebhookSecret } from "./secrets.ts";
import { checkWebhookUrl } from "./url-policy.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;

export interface EndpointView {
  id: string;
  orgId: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  /** Until then the previous secret signs too (after a rotation). */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const toView = (e: EndpointRow): EndpointView => ({
  id: e.id,
  orgId: e.orgId,
  url: e.url,
  description: e.description,
  events: e.events,
  enabled: e.disabledAt === null,
  disabledAt: e.disabledAt,
  disabledReason: e.disabledReason,
  previousSecretExpiresAt:
    e.previousSecretUntil && e.previousSecretUntil > nowIso() ? e.previousSecretUntil : null,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

/** The enabled endpoints of an org and what they subscribe to: read on every write that may emit an event. */
export type Subscriptions = Array<{ id: string; events: string[] }>;
const subsDep = (orgId: string) => `hooks:${orgId}`;
const subsKey = (orgId: string): CacheKey<Subscriptions> => ({
  ns: "hooks",
  id: orgId,
  ttlSeconds: 300,
  deps: [subsDep(orgId)],
});

export async function subscriptions(ctx: ServiceContext, orgId: string): Promise<Subscriptions> {
  const load = async () =>
    ctx.db
      .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.disabledAt)));
  if (!ctx.cache) return load();
  return (await ctx.cache.json(subsKey(orgId), load)).value();
}

/** After any change to an org's endpoints (awaited: the next write in this isolate sees it). */
export const invalidateSubscriptions = (ctx: ServiceContext, orgId: string) =>
  ctx.cache?.invalidate(subsDep(orgId));

export interface Actor {
  userId: string;
  orgId: string;
}

export async function loadEndpoint(ctx: ServiceContext, orgId: string, id: string): Promise<EndpointRow> {
  const [e] = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId)));
  if (!e) throw new ApiError("not_found", "No such webhook endpoint.");
  return e;
}

const audit = (
  ctx: ServiceContext,
  actor: Actor,
  action: Parameters<typeof auditInsert>[1]["action"],
  id: string,
  metadata?: Record<string, unknown>,
) =>
  auditInsert(ctx, {
    action,
    actorId: actor.userId,
    targetType: "webhook",
    targetId: id,
    orgId: actor.orgId,
    ...(metadata ? { metadata } : {}),
  });

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | undefined;
}

/** A new endpoint; its secret is returned this once and stored only encrypted. */
export async function createEndpoint(ctx: ServiceContext, actor: Actor, input: EndpointInput) {
  const url = checkWebhookUrl(input.url, ctx.config.isDev);
  const id = uuidv7();
  const secret = newWebhookSecret();
  const [rows] = await ctx.db.batch([
    ctx.db
      .insert(webhookEndpoints)
      .values({
        id,
        orgId: actor.orgId,
        url,
        description: input.description ?? null,
        events: [...new Set(input.events)],
        secretEnc: await encryptSecret(ctx.config.SERVER_SECRET, id, secret),
        createdBy: actor.userId,
      })
      .returning(),
    audit(ctx, actor, "webhook.created", id, { url }),
  ]);
  await invalidateSubscriptions(ctx, actor.orgId);
  return { ...toView(rows[0]!), secret };
}

export async function listEndpoints(ctx: ServiceContext, orgId: string, limit: number, cursor?: string) {
  const conds = [eq(webhookEndpoints.orgId, orgId)];
  if (cursor) conds.push(lt(webhookEndpoints.id, cursor));
  const rows = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(and(...conds))
    .orderBy(desc(webhookEndpoints.id))
    .limit(limit + 1);
  return {
    items: rows.slice(0, limit).map(toView),
    nextCursor: rows.length > limit ? rows[limit - 1]!.id : null,
  };
}

export const getEndpoint = async (ctx: ServiceContext, orgId: string, id: string) =>
  toView(await loadEndpoint(ctx, orgId, id));

export interface EndpointPatch {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
  /** true re-enables a disabled endpoint (its failure streak starts over); false disables it. */
  enabled?: boolean | undefined;
}

export async function updateEndpoint(ctx: ServiceContext, actor: Actor, id: string, patch: EndpointPatch) {
  const current = await loadEndpoint(ctx, actor.orgId, id);
  const set: Partial<EndpointRow> = { updatedAt: nowIso() };
  if (patch.url !== undefined) set.url = checkWebhookUrl(patch.url, ctx.config.isDev);
  if (patch.events !== undefined) set.events = [...new Set(patch.events)];
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.enabled === true && current.disabledAt) {
    Object.assign(set, { disabledAt: null, disabledReason: null, failureStreak: 0, failingSince: null });
  } else if (patch.enabled === false && !current.disabledAt) {
    Object.assign(set, { disabledAt: nowIso(), disabledReason: "disabled by an admin" });
  }
  const [rows] = await ctx.db.batch([
    ctx.db.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning(),
    audit(ctx, actor, "webhook.updated", id, { fields: Object.keys(patch) }),
  ]);
  await invalidateSubscriptions(ctx, actor.orgId);
  if (!rows[0]) throw new ApiError("not_found", "No such webhook endpoint.");
  return toView(rows[0]);
}

export async function deleteEndpoint(ctx: ServiceContext, actor: Actor, id: string) {
  await loadEndpoint(ctx, actor.orgId, id); // 404 before anything is written (the audit entry)
  const [deleted] = await ctx.db.batch([
    ctx.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, actor.orgId)))
      .returning({ id: webhookEndpoints.id }),
    audit(ctx, actor, "webhook.deleted", id),
  ]);
  if (deleted.length === 0) throw new ApiError("not_found", "No such webhook endpoint.");
  await invalidateSubscriptions(ctx, actor.orgId);
}

/** A new secret; the current one keeps signing beside it for 24 h (both signatures are sent). */
export async function rotateSecret(ctx: ServiceContext, actor: Actor, id: string) {
  const current = await loadEndpoint(ctx, actor.orgId, id);
  const secret = newWebhookSecret();
  const [rows] = await ctx.db.batch([
    ctx.db
      .update(webhookEndpoints)
      .set({
        secretEnc: await encryptSecret(ctx.config.SERVER_SECRET, id, secret),
        previousSecretEnc: current.secretEnc,
        previousSecretUntil: isoIn(ROTATION_OVERLAP_MS / 1000),
        updatedAt: nowIso(),
      })
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secretEnc, current.secretEnc)))
      .returning(),
    audit(ctx, actor, "webhook.secret_rotated", id),
  ]);
  if (!rows[0]) throw new ApiError("conflict", "The secret was rotated meanwhile: try again.");
  return { ...toView(rows[0]), secret };
}
