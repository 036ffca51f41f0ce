import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../../env.ts";
import { caller, svc } from "../../http/context.ts";
import {
  AUTH_BODY_LIMIT,
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  route,
} from "../../http/openapi.ts";
import { ApiError } from "../../lib/errors.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { assertSameOrigin } from "../../middleware/csrf.ts";
import { authIpRateLimit, rateLimit } from "../../middleware/rate-limit.ts";
import * as credentials from "../../services/identity/credentials.ts";
import * as emailTokens from "../../services/identity/email-tokens.ts";
import { refresh } from "../../services/identity/sessions.ts";
import { toPublicUser } from "../../services/identity/users.ts";
import {
  AuthModeHeaderSchema,
  AuthResponseSchema,
  ForgotBodySchema,
  LoginBodySchema,
  RefreshBodySchema,
  RegisterBodySchema,
  ResetBodySchema,
  TokenBodySchema,
} from "./auth.schema.ts";
import {
  authResponse,
  clearRefreshCookie,
  cookieModeCsrf,
  REFRESH_COOKIE,
  refreshTokenFrom,
  wantsCookie,
} from "./cookie.ts";

const perIp = authIpRateLimit();
const perEmail = rateLimit({
  name: "auth-email",
  limit: (c) => c.AUTH_RATE_LIMIT,
  windowSeconds: (c) => c.AUTH_RATE_WINDOW_SECONDS,
  key: async (c: Context<AppEnv>) => {
    const body = (await c.req.json().catch(() => null)) as { email?: unknown } | null;
    return typeof body?.email === "string" ? body.email.trim().toLowerCase().slice(0, 254) : undefined;
  },
  onStoreFailure: "closed",
});
const cookieCsrf = cookieModeCsrf;

const tags = ["Auth"];
const limited = [perIp, perEmail] as const;

const register = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/register",
  tags,
  summary: "Create an account",
  middleware: [...limited, cookieCsrf],
  request: { body: jsonContent(RegisterBodySchema), headers: AuthModeHeaderSchema },
  responses: {
    201: jsonResponse("Account created, signed in", AuthResponseSchema),
    ...errorResponses(400, 403, 409, 429, 503),
  },
});
const login = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/login",
  tags,
  summary: "Sign in with email and password",
  description: "Unknown email and wrong password get the same 401 answer in similar time.",
  middleware: [...limited, cookieCsrf],
  request: { body: jsonContent(LoginBodySchema), headers: AuthModeHeaderSchema },
  responses: {
    200: jsonResponse("Signed in", AuthResponseSchema),
    ...errorResponses(400, 401, 403, 429, 503),
  },
});
const refreshRoute = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/refresh",
  tags,
  summary: "Rotate the refresh token",
  description:
    "Every use rotates the token. Presenting a used token revokes the session, except within the grace window right after its rotation (concurrent tabs), where the same successor is returned again.",
  security: [{}, { refreshCookie: [] }],
  middleware: [perIp],
  request: {
    body: { content: { "application/json": { schema: RefreshBodySchema } }, required: false },
    headers: AuthModeHeaderSchema,
  },
  responses: {
    200: jsonResponse("New token pair", AuthResponseSchema),
    ...errorResponses(400, 401, 403, 429, 503),
  },
});
const logout = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/logout",
  tags,
  summary: "Sign out this session",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth()],
  responses: {
    204: { description: "The session's refresh token and access tokens stop working at once" },
    ...errorResponses(401),
  },
});
const verifyEmail = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/verify-email",
  tags,
  summary: "Confirm an email address",
  middleware: [perIp],
  request: { body: jsonContent(TokenBodySchema) },
  responses: { 204: { description: "Verified" }, ...errorResponses(400, 429, 503) },
});
const resend = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/verify-email/resend",
  tags,
  summary: "Send the verification mail again",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth(), perIp],
  responses: { 202: { description: "Sent (if not verified yet)" }, ...errorResponses(401, 429, 503) },
});
const forgot = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/password/forgot",
  tags,
  summary: "Ask for a password reset mail",
  description: "Always 202, whether or not the account exists.",
  middleware: [...limited],
  request: { body: jsonContent(ForgotBodySchema) },
  responses: { 202: { description: "Accepted" }, ...errorResponses(400, 429, 503) },
});
const reset = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/password/reset",
  tags,
  summary: "Set a new password with a reset token",
  description: "Revokes every session of the user.",
  middleware: [perIp],
  request: { body: jsonContent(ResetBodySchema) },
  responses: { 204: { description: "Password changed" }, ...errorResponses(400, 429, 503) },
});

/** A request that carries the refresh cookie must pass the CSRF check before anything else. */
const refreshCookieCsrf = async (c: Context<AppEnv>, next: () => Promise<void>) => {
  if (getCookie(c, REFRESH_COOKIE)) assertSameOrigin(c);
  await next();
};

const router = createRouter();
// Runs before body validation: a cross-site request must not even learn what a valid body is.
router.use("/refresh", refreshCookieCsrf);

export const authRoutes = router
  .openapi(register, async (c) =>
    authResponse(c, await credentials.register(svc(c), c.req.valid("json")), 201),
  )
  .openapi(login, async (c) => authResponse(c, await credentials.login(svc(c), c.req.valid("json")), 200))
  .openapi(refreshRoute, async (c) => {
    // The body is optional (cookie flow), which zod-openapi's types cannot express for valid().
    const body = c.req.valid("json" as never) as { refreshToken?: string } | undefined;
    const { token, viaCookie } = refreshTokenFrom(c, body?.refreshToken);
    if (!token) throw new ApiError("unauthorized", "No refresh token in the body or cookie.");
    const ctx = svc(c);
    const pair = await refresh(ctx, token); // the session's user comes with it: one round trip
    return authResponse(
      c,
      {
        user: toPublicUser(pair.user),
        accessToken: pair.accessToken,
        refreshToken: pair.refreshToken,
        expiresIn: pair.expiresIn,
      },
      200,
      viaCookie || wantsCookie(c),
    );
  })
  .openapi(logout, async (c) => {
    const me = caller(c);
    await credentials.logout(svc(c), me.userId, me.sessionId);
    clearRefreshCookie(c);
    return c.body(null, 204);
  })
  .openapi(verifyEmail, async (c) => {
    await emailTokens.verifyEmail(svc(c), c.req.valid("json").token);
    return c.body(null, 204);
  })
  .openapi(resend, async (c) => {
    await emailTokens.resendVerification(svc(c), caller(c).userId);
    return c.body(null, 202);
  })
  .openapi(forgot, (c) => {
    emailTokens.forgotPassword(svc(c), c.req.valid("json").email);
    return c.body(null, 202);
  })
  .openapi(reset, async (c) => {
    const { token, password } = c.req.valid("json");
    await credentials.resetPassword(svc(c), token, password);
    return c.body(null, 204);
  });
