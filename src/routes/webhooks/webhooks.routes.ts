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
import * as endpoints from "../../services/webhooks/endpoints.ts";
import { IdPageQuerySchema, OrgParamsSchema } from "../orgs/orgs.schema.ts";
import {
  CreateWebhookBodySchema,
  PatchWebhookBodySchema,
  WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
  WebhookEventSchema,
  WebhookParamsSchema,
} from "./webhooks.schema.ts";

export const tags = ["Webhooks"];
export const security = [{ bearerAuth: [] }];
export const WHO =
  "Org admins and owners; members and guests get 403, non-members (global admins included) 404.";
export const guard = [apiLimit, requireAuth(), requireOrgPermission("webhooks.manage")];

const create = route({
  method: "post",
  path: "/{orgId}/webhooks",
  tags,
  security,
  middleware: guard,
  summary: "Add a webhook endpoint",
  description: [
    "Events of the org that the endpoint subscribes to are POSTed to it as `{id, type, orgId, createdAt, data}`, signed per Standard Webhooks (`webhook-id` = the event id, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`); verify with the `standardwebhooks` package.",
    "An event exists exactly when its change committed (transactional outbox). Delivery is at least once: deduplicate by `webhook-id`. A 2xx answer within 10 s is success; anything else is retried with exponential backoff.",
    "The secret (`whsec_…`) is in this response only; it is stored encrypted.",
    WHO,
  ].join(" "),
  request: { params: OrgParamsSchema, body: jsonContent(CreateWebhookBodySchema) },
  responses: {
    201: jsonResponse("Created, with its secret (shown once)", WebhookEndpointWithSecretSchema),
    ...errorResponses(400, 401, 403, 404),
  },
});
const list = route({
  method: "get",
  path: "/{orgId}/webhooks",
  tags,
  security,
  middleware: guard,
  summary: "The org's webhook endpoints",
  description: `Newest first; secrets are never shown again. ${WHO}`,
  request: { params: OrgParamsSchema, query: IdPageQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(WebhookEndpointSchema, "WebhookEndpointPage") } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});
const get = route({
  method: "get",
  path: "/{orgId}/webhooks/{webhookId}",
  tags,
  security,
  middleware: guard,
  summary: "One webhook endpoint",
  description: `Whether it is enabled, and why it was disabled. ${WHO}`,
  request: { params: WebhookParamsSchema },
  responses: {
    200: jsonResponse("The endpoint", WebhookEndpointSchema),
    ...errorResponses(400, 401, 403, 404),
  },
});
const patch = route({
  method: "patch",
  path: "/{orgId}/webhooks/{webhookId}",
  tags,
  security,
  middleware: guard,
  summary: "Change a webhook endpoint",
  description: `URL, events, description; \`enabled: true\` re-enables an endpoint that was disabled after failing. Deliveries already made keep their endpoint. ${WHO}`,
  request: { params: WebhookParamsSchema, body: jsonContent(PatchWebhookBodySchema) },
  responses: { 200: jsonResponse("Changed", WebhookEndpointSchema), ...errorResponses(400, 401, 403, 404) },
});
const remove = route({
  method: "delete",
  path: "/{orgId}/webhooks/{webhookId}",
  tags,
  security,
  middleware: guard,
  summary: "Delete a webhook endpoint",
  description: `With its deliveries and their attempts; nothing more is sent to it. ${WHO}`,
  request: { params: WebhookParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});

/** Mounted at /v1/orgs. */
export const webhookRoutes = createRouter()
  .openapi(create, async (c) => {
    const m = orgMember(c);
    const created = await endpoints.createEndpoint(svc(c), m, c.req.valid("json"));
    c.header("Cache-Control", "no-store"); // it carries the secret
    return c.json(created, 201);
  })
  .openapi(list, async (c) => {
    const { limit = 50, cursor } = c.req.valid("query");
    return c.json(await endpoints.listEndpoints(svc(c), orgMember(c).orgId, limit, cursor), 200);
  })
  .openapi(get, async (c) => {
    const { orgId, webhookId } = c.req.valid("param");
    return c.json(await endpoints.getEndpoint(svc(c), orgId, webhookId), 200);
  })
  .openapi(patch, async (c) => {
    const { webhookId } = c.req.valid("param");
    return c.json(await endpoints.updateEndpoint(svc(c), orgMember(c), webhookId, c.req.valid("json")), 200);
  })
  .openapi(remove, async (c) => {
    await endpoints.deleteEndpoint(svc(c), orgMember(c), c.req.valid("param").webhookId);
    return c.body(null, 204);
  });

// The body receivers get: a component of its own, since no API route returns it.
webhookRoutes.openAPIRegistry.register("WebhookEvent", WebhookEventSchema);
