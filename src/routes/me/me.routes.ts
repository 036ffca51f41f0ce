import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, jsonContent, pageOf, route } from "../../http/openapi.ts";
import { ApiError } from "../../lib/errors.ts";
import { IdSchema } from "../../lib/ids.ts";
import { PageQuerySchema } from "../../lib/pagination.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import * as credentials from "../../services/identity/credentials.ts";
import * as deletion from "../../services/identity/deletion.ts";
import * as profile from "../../services/identity/profile.ts";
import { listSessions, revokeSessions } from "../../services/identity/sessions.ts";
import { getUser, toPublicUser } from "../../services/identity/users.ts";
import { HandleSchema, NameSchema, PasswordSchema, UserSchema } from "../auth/auth.schema.ts";
import { clearRefreshCookie } from "../auth/cookie.ts";

const tags = ["Me"];
const security = [{ bearerAuth: [] }];
const middleware = [requireAuth()];

const SessionSchema = z
  .object({
    id: IdSchema,
    current: z.boolean(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi("Session");
const PatchMeSchema = z
  .object({ name: NameSchema.optional(), handle: HandleSchema.optional() })
  .strict()
  .openapi("PatchMeBody");
const ChangePasswordSchema = z
  .object({ currentPassword: PasswordSchema, newPassword: PasswordSchema })
  .strict()
  .openapi("ChangePasswordBody");
const userOk = {
  description: "The caller's profile",
  content: { "application/json": { schema: UserSchema } },
};

const getMe = route({
  method: "get",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "My profile",
  responses: { 200: userOk, ...notModified, ...errorResponses(401) },
});
const patchMe = route({
  method: "patch",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Update my profile",
  request: { body: jsonContent(PatchMeSchema) },
  responses: { 200: userOk, ...errorResponses(400, 401, 409) },
});
const deleteMe = route({
  method: "delete",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Delete my account",
  description:
    "409 when you own an org that has other members: transfer ownership first. Orgs where you are the only member are deleted with the account.",
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 409) },
});
const changePassword = route({
  method: "post",
  path: "/password",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Change my password",
  description: "Revokes every other session.",
  request: { body: jsonContent(ChangePasswordSchema) },
  responses: { 204: { description: "Changed" }, ...errorResponses(400, 401) },
});
const sessionsList = route({
  method: "get",
  path: "/sessions",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "My active sessions",
  request: { query: PageQuerySchema },
  responses: {
    200: {
      description: "Newest first",
      content: { "application/json": { schema: pageOf(SessionSchema, "SessionPage") } },
    },
    ...errorResponses(400, 401),
  },
});
const sessionDelete = route({
  method: "delete",
  path: "/sessions/{sessionId}",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Revoke one of my sessions",
  request: { params: z.object({ sessionId: IdSchema }) },
  responses: { 204: { description: "Revoked" }, ...errorResponses(400, 401, 404) },
});

export const meRoutes = createRouter()
  // Cached (ETag, X-Cache): see src/middleware/http-cache.ts and src/services/cache-keys.ts.
  .openapi(getMe, async (c) => {
    const { userId } = caller(c);
    return cachedJson(c, cacheKeys.me(c.get("config"), userId), async () =>
      toPublicUser(await getUser(svc(c), userId)),
    );
  })
  .openapi(patchMe, async (c) =>
    c.json(await profile.updateProfile(svc(c), caller(c).userId, c.req.valid("json")), 200),
  )
  .openapi(deleteMe, async (c) => {
    await deletion.deleteAccount(svc(c), caller(c).userId);
    clearRefreshCookie(c);
    return c.body(null, 204);
  })
  .openapi(changePassword, async (c) => {
    const me = caller(c);
    await credentials.changePassword(svc(c), me.userId, me.sessionId, c.req.valid("json"));
    return c.body(null, 204);
  })
  .openapi(sessionsList, async (c) => {
    const me = caller(c);
    const { limit = 50, cursor } = c.req.valid("query");
    const page = await listSessions(svc(c), me.userId, limit, cursor);
    const items = page.rows.map((s) => ({
      id: s.id,
      current: s.id === me.sessionId,
      userAgent: s.userAgent,
      ip: s.ip,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      expiresAt: s.expiresAt,
    }));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  })
  .openapi(sessionDelete, async (c) => {
    const me = caller(c);
    const { sessionId } = c.req.valid("param");
    // Scoped to the caller's own sessions: someone else's id is simply not found.
    const revoked = await revokeSessions(svc(c), {
      sessionIds: [sessionId],
      userId: me.userId,
      reason: "user_revoked",
      actorId: me.userId,
    });
    if (revoked.length === 0) throw new ApiError("not_found", "No such active session.");
    return c.body(null, 204);
  });
