import { z } from "@hono/zod-openapi";
import { IdSchema } from "../../lib/ids.ts";
import { name } from "../../lib/text.ts";
import { UserSchema } from "../auth/auth.schema.ts";
import { IdPageQuerySchema } from "../orgs/orgs.schema.ts";

export const AdminUserSchema = UserSchema.extend({
  disabled: z.boolean(),
  disabledAt: z.string().nullable().openapi({ format: "date-time" }),
  updatedAt: z.string().openapi({ format: "date-time" }),
}).openapi("AdminUser");

export const AdminUsersQuerySchema = IdPageQuerySchema.extend({
  q: name({ max: 100 }).optional().openapi({
    description:
      "Prefix of the email, the handle, the name or a word of the name (case-insensitive for ASCII)",
    example: "ada",
  }),
}).strict();

export const UserParamsSchema = z.object({ userId: IdSchema });

export const PatchAdminUserBodySchema = z
  .object({
    role: z.enum(["user", "admin"]).optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.role !== undefined || b.disabled !== undefined, "set `role`, `disabled` or both")
  .openapi("PatchAdminUserBody");

export const AuditLogQuerySchema = IdPageQuerySchema.extend({
  actorId: IdSchema.optional().openapi({ description: "Only entries by this user" }),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/, "an action name such as user.login")
    .optional()
    .openapi({ description: "Only this exact action", example: "user.login" }),
}).strict();

export const AuditEntrySchema = z
  .object({
    id: IdSchema,
    at: z.string().openapi({ format: "date-time" }),
    action: z.string().openapi({ example: "org.member_role_changed" }),
    actorId: z.string().nullable(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    orgId: z.string().nullable(),
    ip: z.string().nullable().openapi({ description: "The request's CF-Connecting-IP" }),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable().openapi({ description: "The request's X-Request-Id" }),
    metadata: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi("AuditEntry");
