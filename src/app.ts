import { createRouter } from "./http/openapi.ts";
import { accessLog } from "./middleware/access-log.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { onError, onNotFound } from "./middleware/error-handler.ts";
import { jwksEdgeCache, openapiEdgeCache } from "./middleware/http-cache.ts";
import { canonicalPath } from "./middleware/json-guard.ts";
import { requestContext, requestId } from "./middleware/request-context.ts";
import { corsAllowList, securityHeaders } from "./middleware/security-headers.ts";
import { webClient } from "./middleware/web-client.ts";
import { adminRoutes } from "./routes/admin/admin.routes.ts";
import { authRoutes } from "./routes/auth/auth.routes.ts";
import { oauthRoutes } from "./routes/auth/oauth.routes.ts";
import { devRoutes } from "./routes/dev/dev.routes.ts";
import { docsRoutes } from "./routes/docs/docs.routes.ts";
import { fileRoutes } from "./routes/files/files.routes.ts";
import { healthRoutes } from "./routes/health/health.routes.ts";
import { internalRoutes } from "./routes/internal/internal.routes.ts";
import { jwksRoutes } from "./routes/jwks/jwks.routes.ts";
import { meRoutes } from "./routes/me/me.routes.ts";
import { messageRoutes, roomMessageRoutes } from "./routes/messages/messages.routes.ts";
import { notificationRoutes } from "./routes/notifications/notifications.routes.ts";
import { invitationRoutes, orgInvitationRoutes } from "./routes/orgs/invitations.routes.ts";
import { memberRoutes } from "./routes/orgs/members.routes.ts";
import { orgRoutes } from "./routes/orgs/orgs.routes.ts";
import { realtimeRoutes } from "./routes/realtime/realtime.routes.ts";
import { orgRoomRoutes, roomRoutes } from "./routes/rooms/rooms.routes.ts";
import { webhookDeliveryRoutes } from "./routes/webhooks/deliveries.routes.ts";
import { webhookRoutes } from "./routes/webhooks/webhooks.routes.ts";
import { SERVICE_AUTH_HEADER } from "./shared/realtime.ts";

/**
 * The one place that fixes middleware order:
 * request id → context (config, log, Sentry, services) → access log → secure headers / CORS →
 * canonical path → authenticate → routes → onError / notFound → OpenAPI.
 * What is particular to a route (body limit and JSON guard, rate limits, who may call it) is in
 * its own definition: `route()` in src/http/openapi.ts and the route's `middleware`.
 * Every router is mounted at its feature's prefix; its paths are relative to it.
 */
export function createApp() {
  const app = createRouter();

  app.use(requestId());
  app.use(requestContext());
  app.use(accessLog());
  app.use(securityHeaders()); // HSTS, nosniff, frame-ancestors 'none', CSP (src/middleware/security-headers.ts)
  app.use(corsAllowList());
  app.use("/app/*", webClient()); // the web client's static files and deep links (src/middleware/web-client.ts)
  app.use(canonicalPath()); // no %-encoded aliases of a path (e.g. of an id)
  app.use(authenticate());
  app.use("/.well-known/jwks.json", jwksEdgeCache()); // Workers Cache API (src/middleware/http-cache.ts)
  app.use("/openapi.json", openapiEdgeCache());

  // Chained, so the returned app's type carries every route: `hc<App>()` gets end-to-end types.
  const api = app
    .route("/", healthRoutes)
    .route("/", jwksRoutes)
    .route("/v1/auth", authRoutes)
    .route("/v1/auth/oauth", oauthRoutes)
    .route("/v1/me", meRoutes)
    .route("/v1/orgs", orgRoutes)
    .route("/v1/orgs", memberRoutes)
    .route("/v1/orgs", orgInvitationRoutes)
    .route("/v1/orgs", orgRoomRoutes)
    .route("/v1/orgs", webhookRoutes)
    .route("/v1/orgs", webhookDeliveryRoutes)
    .route("/v1/invitations", invitationRoutes)
    .route("/v1/admin", adminRoutes)
    .route("/v1/rooms", roomRoutes)
    .route("/v1/rooms", roomMessageRoutes)
    .route("/v1/messages", messageRoutes)
    .route("/v1/files", fileRoutes)
    .route("/v1/notifications", notificationRoutes)
    .route("/v1/realtime", realtimeRoutes)
    .route("/v1/internal", internalRoutes);
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
    name: SERVICE_AUTH_HEADER,
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
  return api;
}

/** The API's type, for `hono/client`: `hc<App>("https://api.example.com")`. */
export type App = ReturnType<typeof createApp>;
