import { z } from "@hono/zod-openapi";
import { IdSchema } from "../../lib/ids.ts";
import { line, name, secret } from "../../lib/text.ts";

export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email("must be an email address"))
  .openapi({ example: "ada@example.com" });
export const HandleSchema = z
  .string()
  .regex(/^[a-z0-9_]{3,30}$/, "3 to 30 characters: a-z, 0-9 and _")
  .openapi({ example: "ada_l" });
export const NameSchema = name({ max: 100 }).openapi({
  example: "Ada Lovelace",
  description: "Trimmed; well-formed Unicode without control characters or line breaks",
});
/** Strength is checked by the service (10..128 characters); the schema only bounds the size. */
export const PasswordSchema = secret({ max: 1024 }).openapi({
  format: "password",
  example: "correct horse battery staple",
});

export const UserSchema = z
  .object({
    id: IdSchema,
    email: z.string(),
    name: z.string(),
    handle: z.string(),
    role: z.enum(["user", "admin"]),
    emailVerified: z.boolean(),
    createdAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("User");

export const RegisterBodySchema = z
  .object({ email: EmailSchema, password: PasswordSchema, name: NameSchema, handle: HandleSchema.optional() })
  .strict()
  .openapi("RegisterBody");
export const LoginBodySchema = z
  .object({ email: EmailSchema, password: PasswordSchema })
  .strict()
  .openapi("LoginBody");
export const RefreshBodySchema = z
  .object({ refreshToken: line({ max: 200 }).optional() })
  .strict()
  .openapi("RefreshBody", {
    description: "Omit `refreshToken` when the refresh cookie carries it (cookie flow).",
  });
export const TokenBodySchema = z
  .object({ token: line({ max: 200 }) })
  .strict()
  .openapi("TokenBody");
export const ForgotBodySchema = z.object({ email: EmailSchema }).strict().openapi("ForgotPasswordBody");
export const ResetBodySchema = z
  .object({ token: line({ max: 200 }), password: PasswordSchema })
  .strict()
  .openapi("ResetPasswordBody");

export const AuthResponseSchema = z
  .object({
    user: UserSchema,
    accessToken: z.string().openapi({ description: "EdDSA JWT, `typ: at+jwt`" }),
    refreshToken: z.string().optional().openapi({
      description:
        "Opaque; absent in the cookie flow (`X-Auth-Mode: cookie`), where it is set as an HttpOnly cookie.",
    }),
    expiresIn: z.number().int().openapi({ description: "Access-token lifetime in seconds", example: 900 }),
  })
  .openapi("AuthResponse");

export const AuthModeHeaderSchema = z.object({
  "x-auth-mode": z.enum(["cookie"]).optional().openapi({
    description: "`cookie`: the refresh token travels only in an HttpOnly cookie scoped to /v1/auth.",
  }),
});
