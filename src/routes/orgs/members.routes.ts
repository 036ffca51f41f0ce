import { svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  pageOf,
  route,
} from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import * as members from "../../services/orgs/members.ts";
import { can } from "../../services/orgs/rbac.ts";
import { recheckOrgRooms } from "../../services/rooms/rooms.ts";
import {
  IdPageQuerySchema,
  MemberParamsSchema,
  MemberSchema,
  OrgParamsSchema,
  PatchMemberBodySchema,
} from "./orgs.schema.ts";

const tags = ["Orgs"];
const security = [{ bearerAuth: [] }];
const NOT_MEMBER = "Callers who are not members of the org get 404, global admins included.";

const listMembers = route({
  method: "get",
  path: "/{orgId}/members",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("members.read")],
  summary: "Members of an org",
  description: `Members, admins and owners; guests get 403 (they only see the rooms they were added to). Email addresses are included only for admins and owners. Ordered by user id. ${NOT_MEMBER}`,
  request: { params: OrgParamsSchema, query: IdPageQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(MemberSchema, "MemberPage") } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});
const patchMember = route({
  method: "patch",
  path: "/{orgId}/members/{userId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("members.update_role")],
  summary: "Change a member's role",
  description: [
    "Admins and owners only (403 otherwise).",
    "Nobody grants a role above their own. An admin manages only roles strictly below admin (members and guests), and may raise them up to admin; another admin or an owner is out of an admin's reach (403).",
    "An owner manages everyone and may make another member owner: that is the ownership transfer (the new owner is a co-owner; the previous owner may then step down or leave).",
    "You may lower your own role, never raise it. Setting the current role changes nothing (200).",
    "409 when the change would leave the org without an owner (the last owner cannot be demoted), or when the member's role changed meanwhile.",
    NOT_MEMBER,
  ].join(" "),
  request: {
    params: MemberParamsSchema,
    body: jsonContent(PatchMemberBodySchema),
  },
  responses: {
    200: jsonResponse("The member", MemberSchema),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});
const deleteMember = route({
  method: "delete",
  path: "/{orgId}/members/{userId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("members.leave")],
  summary: "Remove a member, or leave",
  description: [
    "With your own user id: leave the org (any role). 409 for the last owner: transfer ownership first.",
    "Someone else: admins remove members and guests, owners remove anyone (403 otherwise).",
    NOT_MEMBER,
  ].join(" "),
  request: { params: MemberParamsSchema },
  responses: { 204: { description: "Removed" }, ...errorResponses(400, 401, 403, 404, 409) },
});

export const memberRoutes = createRouter()
  .openapi(listMembers, async (c) => {
    const m = orgMember(c);
    const { limit = 50, cursor } = c.req.valid("query");
    const withEmail = can(m.role, "members.read_email");
    return c.json(await members.listMembers(svc(c), m.orgId, { withEmail, limit, cursor }), 200);
  })
  .openapi(patchMember, async (c) => {
    const m = orgMember(c);
    const ctx = svc(c);
    const { userId } = c.req.valid("param");
    const { member, lowered } = await members.changeMemberRole(
      ctx,
      m,
      m.orgId,
      userId,
      c.req.valid("json").role,
    );
    // A lower role may see fewer rooms (e.g. a guest only those it was added to).
    if (lowered) await recheckOrgRooms(ctx, m.orgId);
    return c.json(member, 200);
  })
  .openapi(deleteMember, async (c) => {
    const m = orgMember(c);
    const ctx = svc(c);
    const { userId } = c.req.valid("param");
    await members.removeMember(ctx, m, m.orgId, userId);
    await recheckOrgRooms(ctx, m.orgId); // their sockets in the org's rooms close (4000)
    return c.body(null, 204);
  });
