import { caller, svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  pageOf,
  route,
} from "../../http/openapi.ts";
import { requireAuth, requireGlobalAdmin } from "../../middleware/authenticate.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import * as admin from "../../services/ops/admin.ts";
import {
  AdminUserSchema,
  AdminUsersQuerySchema,
  AuditEntrySchema,
  AuditLogQuerySchema,
  PatchAdminUserBodySchema,
  UserParamsSchema,
} from "./admin.schema.ts";

const tags = ["Admin"];
const security = [{ bearerAuth: [] }];
const middleware = [requireAuth(), requireGlobalAdmin()];
const ADMINS = "Global admins only (403 for everyone else; org roles do not count).";

const listUsers = route({
  method: "get",
  path: "/users",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Search users",
  description: `All users when \`q\` is absent, disabled ones included; ordered by id. ${ADMINS}`,
  request: { query: AdminUsersQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(AdminUserSchema, "AdminUserPage") } },
    },
    ...errorResponses(400, 401, 403),
  },
});
const patchUser = route({
  method: "patch",
  path: "/users/{userId}",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Change a user's global role, or disable / re-enable the account",
  description: [
    "Disabling, and any change of the global role, revokes every session of the user: their access tokens are refused on the next request and their refresh tokens stop working.",
    "A disabled user cannot sign in; re-enabling (`disabled: false`) does not restore the revoked sessions.",
    "409 when an admin tries to demote or disable themselves.",
    ADMINS,
  ].join(" "),
  request: {
    params: UserParamsSchema,
    body: jsonContent(PatchAdminUserBodySchema),
  },
  responses: {
    200: jsonResponse("The user", AdminUserSchema),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});
const auditLog = route({
  method: "get",
  path: "/audit-log",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "The audit log",
  description: `Who did what, when and from where (IP, user agent, request id); newest first. ${ADMINS}`,
  request: { query: AuditLogQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(AuditEntrySchema, "AuditEntryPage") } },
    },
    ...errorResponses(400, 401, 403),
  },
});

export const adminRoutes = createRouter()
  .openapi(listUsers, async (c) => {
    const { limit = 50, cursor, q } = c.req.valid("query");
    return c.json(await admin.searchUsers(svc(c), { q, limit, cursor }), 200);
  })
  .openapi(patchUser, async (c) => {
    const { userId } = c.req.valid("param");
    return c.json(await admin.updateUser(svc(c), caller(c).userId, userId, c.req.valid("json")), 200);
  })
  .openapi(auditLog, async (c) => {
    const { limit = 50, ...filters } = c.req.valid("query");
    return c.json(await admin.listAuditLog(svc(c), { limit, ...filters }), 200);
  });
