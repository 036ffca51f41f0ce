import { z } from "@hono/zod-openapi";
import { ORG_ROLES } from "../../db/schema.ts";
import { IdSchema } from "../../lib/ids.ts";
import { PageQuerySchema } from "../../lib/pagination.ts";
import { name } from "../../lib/text.ts";
import { EmailSchema } from "../auth/auth.schema.ts";

const Timestamp = z.string().openapi({ format: "date-time" });

export const OrgRoleSchema = z.enum(ORG_ROLES).openapi("OrgRole", {
  description: "Org roles, highest first: owner > admin > member > guest.",
});
export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9-]{3,50}$/, "3 to 50 characters: a-z, 0-9 and -")
  .openapi({ example: "analytical-engines" });
export const OrgNameSchema = name({ max: 100 }).openapi({
  example: "Analytical Engines",
  description: "Trimmed; well-formed Unicode without control characters or line breaks",
});

/** Lists whose cursor is the id of the last item of the previous page. */
export const IdPageQuerySchema = PageQuerySchema.extend({
  cursor: IdSchema.optional().openapi({ description: "`nextCursor` of the previous page" }),
}).strict();

export const OrgParamsSchema = z.object({ orgId: IdSchema });
export const MemberParamsSchema = z.object({ orgId: IdSchema, userId: IdSchema });
export const InvitationParamsSchema = z.object({ orgId: IdSchema, invitationId: IdSchema });
export const InvitationTokenParamsSchema = z.object({
  token: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/, "an invitation token")
    .openapi({ description: "The token from the invitation mail" }),
});

export const OrgSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    slug: z.string(),
    role: OrgRoleSchema.openapi({ description: "The caller's role in this org" }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Org");

export const CreateOrgBodySchema = z
  .object({
    name: OrgNameSchema,
    slug: SlugSchema.optional().openapi({
      description: "Unique. Derived from the name when omitted (with a numeric suffix if taken).",
    }),
  })
  .strict()
  .openapi("CreateOrgBody");

export const PatchOrgBodySchema = z
  .object({ name: OrgNameSchema.optional(), slug: SlugSchema.optional() })
  .strict()
  .openapi("PatchOrgBody");

export const MemberSchema = z
  .object({
    userId: IdSchema,
    name: z.string(),
    handle: z.string(),
    role: OrgRoleSchema,
    joinedAt: Timestamp,
    email: z.string().optional().openapi({ description: "Present only for callers who are admin or owner" }),
  })
  .openapi("Member");

export const PatchMemberBodySchema = z.object({ role: OrgRoleSchema }).strict().openapi("PatchMemberBody");

export const InvitationSchema = z
  .object({
    id: IdSchema,
    orgId: IdSchema,
    email: z.string(),
    role: OrgRoleSchema,
    invitedBy: IdSchema.nullable(),
    expiresAt: Timestamp,
    createdAt: Timestamp,
  })
  .openapi("Invitation");

export const CreateInvitationBodySchema = z
  .object({ email: EmailSchema, role: OrgRoleSchema })
  .strict()
  .openapi("CreateInvitationBody");
