import { z } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { svc } from "../../http/context.ts";
import {
  AUTH_BODY_LIMIT,
  createRouter,
  errorResponses,
  jsonContent,
  jsonResponse,
  route,
} from "../../http/openapi.ts";
import { line } from "../../lib/text.ts";
import { authIpRateLimit } from "../../middleware/rate-limit.ts";
import * as oauth from "../../services/identity/oauth.ts";
import { AuthModeHeaderSchema, AuthResponseSchema } from "./auth.schema.ts";
import { authResponse, cookieModeCsrf } from "./cookie.ts";

/** Binds a flow to the browser that started it (login CSRF defence); holds the raw state. */
const STATE_COOKIE = "petrel_oauth_state";
const STATE_COOKIE_PATH = "/v1/auth/oauth";
const tags = ["Auth"];

const perIp = authIpRateLimit();
const cookieCsrf = cookieModeCsrf;

const ProviderParamSchema = z.object({
  provider: z
    .string()
    .min(1)
    .max(64)
    .openapi({
      param: { name: "provider", in: "path" },
      example: "github",
      description: "A configured provider id",
    }),
});
const CallbackQuerySchema = z.object({
  state: z.string().min(1).max(512).openapi({ description: "The state sent to the provider at start" }),
  code: z.string().min(1).max(2048).optional().openapi({ description: "Authorization code (on success)" }),
  error: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .openapi({ description: "OAuth error code (on failure)", example: "access_denied" }),
  error_description: z.string().max(2048).optional(),
});
const ExchangeBodySchema = z
  .object({
    code: line({ max: 200 }).openapi({ description: "The one-time `code` from the app callback URL" }),
  })
  .strict()
  .openapi("OAuthExchangeBody");

const redirect = (description: string, location: string) => ({
  description,
  headers: { Location: { description: location, schema: { type: "string" as const, format: "uri" } } },
});

const start = route({
  method: "get",
  path: "/{provider}/start",
  tags,
  summary: "Start signing in with an OAuth provider",
  description:
    "Redirects the browser to the provider's authorization endpoint (authorization code flow with PKCE S256, `state`, and `nonce` for OpenID Connect providers). Sets a short-lived HttpOnly cookie `petrel_oauth_state` (path /v1/auth/oauth, 10 min) that the callback requires: the sign-in must finish in the browser that started it. Open it as a top-level navigation, not with fetch.",
  middleware: [perIp],
  request: { params: ProviderParamSchema },
  responses: {
    302: redirect("To the provider", "The provider's authorization URL"),
    ...errorResponses(404, 429, 503),
  },
});
const callback = route({
  method: "get",
  path: "/{provider}/callback",
  tags,
  summary: "OAuth provider callback",
  description: [
    "The provider sends the browser here. A missing, unknown, expired or already used `state`, or one that does not match the browser's state cookie, is a 400 `validation_failed`. A provider that cannot be reached in time is a 503.",
    "Otherwise the browser goes to `<APP_URL>/oauth/callback` with either `?code=` (one-time, valid 60 s, for POST /v1/auth/oauth/exchange) or `?error=`: the provider's own error code (e.g. `access_denied`), `invalid_grant` (the provider refused the code), `invalid_token` (the id_token or profile failed verification), `email_required` (no email shared), `email_unverified` (the provider has not verified the email: such sign-ins are refused, never linked, and no account is created), or `account_disabled`.",
    "Linking: an identity already linked signs in its user; else an account with the same (provider-verified) email is linked; else a new account is created with the email marked verified. If the linked account had never verified its email, its password is removed and its sessions revoked, since its owner never proved the mailbox (set a new one with the password reset).",
  ].join("\n\n"),
  middleware: [perIp],
  request: { params: ProviderParamSchema, query: CallbackQuerySchema },
  responses: {
    302: redirect("To the app", "`<APP_URL>/oauth/callback?code=…` or `?error=…`"),
    ...errorResponses(400, 404, 429, 503),
  },
});
const exchange = route({
  method: "post",
  bodyLimit: AUTH_BODY_LIMIT,
  path: "/exchange",
  tags,
  summary: "Trade the one-time OAuth code for tokens",
  description:
    "Same answer as login. The code works once, within 60 s: a second use, an expired or unknown code is 401 `unauthorized`. With `X-Auth-Mode: cookie` the refresh token is set as an HttpOnly cookie instead of being returned.",
  middleware: [perIp, cookieCsrf],
  request: {
    body: jsonContent(ExchangeBodySchema),
    headers: AuthModeHeaderSchema,
  },
  responses: {
    200: jsonResponse("Signed in", AuthResponseSchema),
    ...errorResponses(400, 401, 403, 429, 503),
  },
});

export const oauthRoutes = createRouter()
  .openapi(start, async (c) => {
    const ctx = svc(c);
    const provider = oauth.findProvider(ctx, c.req.valid("param").provider);
    const { location, state } = await oauth.startFlow(ctx, provider);
    setCookie(c, STATE_COOKIE, state, {
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
      path: STATE_COOKIE_PATH,
      maxAge: oauth.FLOW_TTL_SECONDS,
    });
    c.header("Cache-Control", "no-store");
    return c.redirect(location, 302);
  })
  .openapi(callback, async (c) => {
    const ctx = svc(c);
    const provider = oauth.findProvider(ctx, c.req.valid("param").provider);
    const query = c.req.valid("query");
    const location = await oauth.completeFlow(ctx, provider, {
      ...query,
      cookieState: getCookie(c, STATE_COOKIE),
    });
    deleteCookie(c, STATE_COOKIE, { path: STATE_COOKIE_PATH, secure: true, httpOnly: true, sameSite: "Lax" });
    c.header("Cache-Control", "no-store");
    return c.redirect(location, 302);
  })
  .openapi(exchange, async (c) =>
    authResponse(c, await oauth.exchangeCode(svc(c), c.req.valid("json").code), 200),
  );
