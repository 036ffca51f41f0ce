import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "./lib/errors.ts";
import { createRouter } from "./lib/openapi.ts";
import { accessLog } from "./middleware/access-log.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { onError, onNotFound } from "./middleware/error-handler.ts";
import { apiRateLimit } from "./middleware/rate-limit.ts";
import { requestContext, requestId } from "./middleware/request-context.ts";
import { adminRoutes } from "./routes/admin/admin.routes.ts";
import { authRoutes } from "./routes/auth/auth.routes.ts";
import { oauthRoutes } from "./routes/auth/oauth.routes.ts";
import { devRoutes } from "./routes/dev/dev.routes.ts";
import { docsRoutes } from "./routes/docs/docs.routes.ts";
import { healthRoutes } from "./routes/health/health.routes.ts";
import { internalRoutes } from "./routes/internal/internal.routes.ts";
import { jwksRoutes } from "./routes/jwks/jwks.routes.ts";
import { meRoutes } from "./routes/me/me.routes.ts";
import { messageRoutes } from "./routes/messages/messages.routes.ts";
import { notificationRoutes } from "./routes/notifications/notifications.routes.ts";
import { invitationRoutes } from "./routes/orgs/invitations.routes.ts";
import { orgRoutes } from "./routes/orgs/orgs.routes.ts";
import { realtimeRoutes } from "./routes/realtime/realtime.routes.ts";
import { roomRoutes } from "./routes/rooms/rooms.routes.ts";

/**
 * The one place that fixes middleware order:
 * request id → context (config, log, Sentry, services) → access log → secure headers / CORS →
 * body limit → authenticate → routes → onError / notFound → OpenAPI.
 */
export function createApp() {
  const app = createRouter();

  app.use(requestId());
  app.use(requestContext());
  app.use(accessLog());
  app.use(
    secureHeaders({
      strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
      xFrameOptions: "DENY",
      referrerPolicy: "no-referrer",
      crossOriginResourcePolicy: "same-origin",
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    }),
  );
  app.use(async (c, next) => {
    const origins = c.var.config.CORS_ORIGINS;
    return cors({
      origin: (origin) => (origins.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "X-Request-Id", "X-Auth-Mode", "If-None-Match"],
      exposeHeaders: [
        "X-Request-Id",
        "ETag",
        "X-Cache",
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
      ],
      credentials: true,
      maxAge: 600,
    })(c, next);
  });
  app.use(async (c, next) =>
    bodyLimit({
      maxSize: c.var.config.MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `The body exceeds ${c.var.config.MAX_BODY_BYTES} bytes.`);
      },
    })(c, next),
  );
  app.use(authenticate());
  app.use("/v1/*", apiRateLimit());

  app.route("/", healthRoutes);
  app.route("/", jwksRoutes);
  app.route("/v1/auth", authRoutes);
  app.route("/v1/auth/oauth", oauthRoutes);
  app.route("/v1/me", meRoutes);
  app.route("/v1/orgs", orgRoutes);
  app.route("/v1", invitationRoutes);
  app.route("/v1/admin", adminRoutes);
  app.route("/v1", roomRoutes);
  app.route("/v1", messageRoutes);
  app.route("/v1/notifications", notificationRoutes);
  app.route("/v1/realtime", realtimeRoutes);
  app.route("/v1/internal", internalRoutes);
  app.route("/dev", devRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Access token from /v1/auth/login, /register, /refresh or /oauth/exchange.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "serviceToken", {
    type: "apiKey",
    in: "header",
    name: "x-petrel-service-token",
    description: "The API ↔ PartyKit service credential. Never issued to users.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "refreshCookie", {
    type: "apiKey",
    in: "cookie",
    name: "petrel_rt",
    description: "Refresh token cookie (cookie flow, `X-Auth-Mode: cookie`), scoped to /v1/auth.",
  });

  app.onError(onError);
  app.notFound(onNotFound);
  app.route("/", docsRoutes(app));
  return app;
}

export type App = ReturnType<typeof createApp>;
