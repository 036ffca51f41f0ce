import { createRoute } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, pageOf, problemContent } from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { createNotifications } from "../../services/notifications/notifications.ts";
import * as invitations from "../../services/orgs/invitations.ts";
import {
  CreateInvitationBodySchema,
  IdPageQuerySchema,
  InvitationParamsSchema,
  InvitationSchema,
  InvitationTokenParamsSchema,
  OrgParamsSchema,
  OrgSchema,
} from "./orgs.schema.ts";

const tags = ["Invitations"];
const security = [{ bearerAuth: [] }];
const NOT_MEMBER = "Callers who are not members of the org get 404, global admins included.";

const createInvitation = createRoute({
  method: "post",
  path: "/orgs/{orgId}/invitations",
  tags,
  security,
  middleware: [requireAuth(), requireOrgPermission("invitations.create")],
  summary: "Invite someone by email",
  description: [
    "Admins and owners only. The role must be one the inviter may grant (nobody grants above their own role: only owners invite owners), else 403.",
    "The token is sent only by mail (it expires after INVITATION_TTL, 7 days by default) and never appears in a response.",
    "409 when the email belongs to a member already, or has a pending invitation (revoke it to send a new one).",
    NOT_MEMBER,
  ].join(" "),
  request: {
    params: OrgParamsSchema,
    body: { content: { "application/json": { schema: CreateInvitationBodySchema } }, required: true },
  },
  responses: {
    201: { description: "Invited", content: { "application/json": { schema: InvitationSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});
const listInvitations = createRoute({
  method: "get",
  path: "/orgs/{orgId}/invitations",
  tags,
  security,
  middleware: [requireAuth(), requireOrgPermission("invitations.read")],
  summary: "Pending invitations",
  description: `Not yet accepted, revoked or expired; newest first. Admins and owners only. ${NOT_MEMBER}`,
  request: { params: OrgParamsSchema, query: IdPageQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(InvitationSchema, "InvitationPage") } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});
const revokeInvitation = createRoute({
  method: "delete",
  path: "/orgs/{orgId}/invitations/{invitationId}",
  tags,
  security,
  middleware: [requireAuth(), requireOrgPermission("invitations.revoke")],
  summary: "Revoke a pending invitation",
  description: `Admins and owners, for invitations with a role they could grant (an admin cannot revoke an owner invitation: 403). 404 when it is not pending. ${NOT_MEMBER}`,
  request: { params: InvitationParamsSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(400, 401, 403, 404) },
});
const acceptInvitation = createRoute({
  method: "post",
  path: "/invitations/{token}/accept",
  tags,
  security,
  middleware: [requireAuth()],
  summary: "Accept an invitation",
  description: [
    "Joins the org with the invitation's role and answers with the org.",
    "The signed-in account's email must equal the invited email, case-insensitively (403 otherwise); the token itself proves access to that mailbox.",
    "404 for an unknown token; 410 `gone` when it expired, was revoked or was already used (so it can never be accepted twice); 409 when you are a member already.",
  ].join(" "),
  request: { params: InvitationTokenParamsSchema },
  responses: {
    200: { description: "Joined", content: { "application/json": { schema: OrgSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
    410: { description: "Expired, revoked or already used", content: problemContent },
  },
});

export const invitationRoutes = createRouter()
  .openapi(createInvitation, async (c) => {
    const m = orgMember(c);
    const ctx = svc(c);
    // `inviteeUserId` stays server-side (it would reveal which emails have accounts).
    const { invitation, inviteeUserId } = await invitations.createInvitation(
      ctx,
      m,
      m.orgId,
      c.req.valid("json"),
    );
    if (inviteeUserId) {
      await createNotifications(ctx, [
        {
          userId: inviteeUserId,
          type: "invitation",
          data: { orgId: m.orgId, invitationId: invitation.id, role: invitation.role, invitedBy: m.userId },
        },
      ]).catch((err) => ctx.log.error("invitation notification failed", { error: String(err) }));
    }
    return c.json(invitation, 201);
  })
  .openapi(listInvitations, async (c) => {
    const m = orgMember(c);
    const { limit = 50, cursor } = c.req.valid("query");
    return c.json(await invitations.listPendingInvitations(svc(c), m.orgId, limit, cursor), 200);
  })
  .openapi(revokeInvitation, async (c) => {
    const m = orgMember(c);
    await invitations.revokeInvitation(svc(c), m, m.orgId, c.req.valid("param").invitationId);
    return c.body(null, 204);
  })
  .openapi(acceptInvitation, async (c) => {
    const { token } = c.req.valid("param");
    return c.json(await invitations.acceptInvitation(svc(c), caller(c).userId, token), 200);
  });
