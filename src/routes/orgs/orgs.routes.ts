import { caller, svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  pageOf,
  route,
} from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { cachedJson, notModified } from "../../middleware/http-cache.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import { cacheKeys } from "../../services/cache-keys.ts";
import { deleteObjectsLater, objectKeysOfOrg } from "../../services/files/files-access.ts";
import * as orgs from "../../services/orgs/orgs.ts";
import {
  CreateOrgBodySchema,
  IdPageQuerySchema,
  OrgParamsSchema,
  OrgSchema,
  PatchOrgBodySchema,
} from "./orgs.schema.ts";

const tags = ["Orgs"];
const security = [{ bearerAuth: [] }];
const ACCESS =
  "Org roles are read from the database on every request. Callers who are not members get 404 (existence is never revealed), global admins included; members whose role is too low get 403.";

const createOrg = route({
  method: "post",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "Create an org",
  description: "Any signed-in user; the creator becomes its owner. 409 when the explicit slug is taken.",
  request: { body: jsonContent(CreateOrgBodySchema) },
  responses: { 201: jsonResponse("Created", OrgSchema), ...errorResponses(400, 401, 409) },
});
const listOrgs = route({
  method: "get",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "The orgs I belong to",
  description: "Oldest first, each with my role in it.",
  request: { query: IdPageQuerySchema },
  responses: {
    200: jsonResponse("A page", pageOf(OrgSchema, "OrgPage")),
    ...errorResponses(400, 401),
  },
});
const getOrg = route({
  method: "get",
  path: "/{orgId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("org.read")],
  summary: "One org",
  description: `Any member, guests included. ${ACCESS}`,
  request: { params: OrgParamsSchema },
  responses: {
    200: jsonResponse("The org, with my role", OrgSchema),
    ...notModified,
    ...errorResponses(400, 401, 404),
  },
});
const patchOrg = route({
  method: "patch",
  path: "/{orgId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("org.update")],
  summary: "Rename an org or change its slug",
  description: `Admin or owner. 409 when the slug is taken. ${ACCESS}`,
  request: { params: OrgParamsSchema, body: jsonContent(PatchOrgBodySchema) },
  responses: { 200: jsonResponse("Updated", OrgSchema), ...errorResponses(400, 401, 403, 404, 409) },
});
const deleteOrg = route({
  method: "delete",
  path: "/{orgId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("org.delete")],
  summary: "Delete an org",
  description: `Owner only. Its memberships and invitations go with it. ${ACCESS}`,
  request: { params: OrgParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});

export const orgRoutes = createRouter()
  .openapi(createOrg, async (c) =>
    c.json(await orgs.createOrg(svc(c), caller(c).userId, c.req.valid("json")), 201),
  )
  .openapi(listOrgs, async (c) => {
    const { limit = 50, cursor } = c.req.valid("query");
    return c.json(await orgs.listMyOrgs(svc(c), caller(c).userId, limit, cursor), 200);
  })
  .openapi(getOrg, async (c) => {
    const m = orgMember(c);
    // Cached per org and caller role (the role is read from the database by the guard).
    return cachedJson(c, cacheKeys.org(c.var.config, m.orgId, m.role), () =>
      orgs.getOrg(svc(c), m.orgId, m.role),
    );
  })
  .openapi(patchOrg, async (c) => {
    const m = orgMember(c);
    return c.json(await orgs.updateOrg(svc(c), m, m.orgId, c.req.valid("json")), 200);
  })
  .openapi(deleteOrg, async (c) => {
    const m = orgMember(c);
    const ctx = svc(c);
    // The org's file rows go with it (cascade); its stored objects must go too.
    const keys = await objectKeysOfOrg(ctx, m.orgId);
    await orgs.deleteOrg(ctx, m.userId, m.orgId);
    deleteObjectsLater(ctx, c.var.services.storage, keys);
    return c.body(null, 204);
  });
