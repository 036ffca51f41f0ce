import { caller, svc } from "../../http/context.ts";
import {
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  pageOf,
  problemContent,
  route,
} from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { orgMember, requireOrgPermission } from "../../middleware/org-access.ts";
import { apiLimit, rateLimit } from "../../middleware/rate-limit.ts";
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

const invitesPerUser = rateLimit({
  name: "invites-user",
  limit: (config) => config.INVITE_RATE_LIMIT,
  windowSeconds: () => 3600,
  key: (c) => (c.var.auth ? `user:${c.var.auth.userId}` : undefined),
  onStoreFailure: "open",
});
const invitesPerOrg = rateLimit({
  name: "invites-org",
  limit: (config) => config.INVITE_ORG_RATE_LIMIT,
  windowSeconds: () => 3600,
  key: (c) => `org:${c.req.param("orgId")}`,
  onStoreFailure: "open",
});

const createInvitation = route({
  method: "post",
  path: "/{orgId}/invitations",
  tags,
  security,
  middleware: [
    apiLimit,
    requireAuth(),
    requireOrgPermission("invitations.create"),
    invitesPerUser,
    invitesPerOrg,
  ],
  summary: "Invite someone by email",
  description: [
    "Admins and owners only. The role must be one the inviter may grant (nobody grants above their own role: only owners invite owners), else 403.",
    "The token is sent only by mail (it expires after INVITATION_TTL, 7 days by default) and never appears in a response.",
    "409 when the email belongs to a member already, or has a pending invitation (revoke it to send a new one).",
    "Invitations mail any address, so they are limited: INVITE_RATE_LIMIT per inviting user and INVITE_ORG_RATE_LIMIT per org, each per hour (429). The org's name appears in the mail without control characters or anything a mail client would make a link.",
    NOT_MEMBER,
  ].join(" "),
  request: {
    params: OrgParamsSchema,
    body: jsonContent(CreateInvitationBodySchema),
  },
  responses: {
    201: jsonResponse("Invited", InvitationSchema),
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});
const listInvitations = route({
  method: "get",
  path: "/{orgId}/invitations",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("invitations.read")],
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
const revokeInvitation = route({
  method: "delete",
  path: "/{orgId}/invitations/{invitationId}",
  tags,
  security,
  middleware: [apiLimit, requireAuth(), requireOrgPermission("invitations.revoke")],
  summary: "Revoke a pending invitation",
  description: `Admins and owners, for invitations with a role they could grant (an admin cannot revoke an owner invitation: 403). 404 when it is not pending. ${NOT_MEMBER}`,
  request: { params: InvitationParamsSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(400, 401, 403, 404) },
});
const acceptInvitation = route({
  method: "post",
  path: "/{token}/accept",
  tags,
  security,
  middleware: [apiLimit, requireAuth()],
  summary: "Accept an invitation",
  description: [
    "Joins the org with the invitation's role and answers with the org.",
    "The signed-in account's email must equal the invited email, case-insensitively (403 `forbidden` otherwise), and must be verified (403 `email_not_verified`): the token proves access to the mailbox, the verified account that it is yours.",
    "404 for an unknown token; 410 `gone` when it expired, was revoked or was already used (so it can never be accepted twice), or when its inviter is no longer a member who may grant its role; 409 when you are a member already.",
  ].join(" "),
  request: { params: InvitationTokenParamsSchema },
  responses: {
    200: jsonResponse("Joined", OrgSchema),
    ...errorResponses(400, 401, 403, 404, 409),
    410: { description: "Expired, revoked or already used", content: problemContent },
  },
});

/** Mounted at /v1/orgs. */
export const orgInvitationRoutes = createRouter()
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
  });

/** Mounted at /v1/invitations. */
export const invitationRoutes = createRouter().openapi(acceptInvitation, async (c) => {
  const { token } = c.req.valid("param");
  return c.json(await invitations.acceptInvitation(svc(c), caller(c).userId, token), 200);
});
