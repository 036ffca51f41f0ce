import { svc } from "../../http/context.ts";
import { createRouter, errorResponses, jsonResponse, pageOf, route } from "../../http/openapi.ts";
import { orgMember } from "../../middleware/org-access.ts";
import * as deliveries from "../../services/webhooks/deliveries.ts";
import * as endpoints from "../../services/webhooks/endpoints.ts";
import { IdPageQuerySchema } from "../orgs/orgs.schema.ts";
import { guard, security, tags, WHO } from "./webhooks.routes.ts";
import {
  DeliveryParamsSchema,
  WebhookDeliverySchema,
  WebhookEndpointWithSecretSchema,
  WebhookParamsSchema,
} from "./webhooks.schema.ts";

const rotate = route({
  method: "post",
  path: "/{orgId}/webhooks/{webhookId}/rotate-secret",
  tags,
  security,
  middleware: guard,
  summary: "Rotate the signing secret",
  description: `Answers with the new secret (shown once). For 24 hours both secrets sign: \`webhook-signature\` carries two space-separated \`v1,\` signatures, so receivers can switch without losing a delivery. ${WHO}`,
  request: { params: WebhookParamsSchema },
  responses: {
    200: jsonResponse("The endpoint with its new secret", WebhookEndpointWithSecretSchema),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});
const list = route({
  method: "get",
  path: "/{orgId}/webhooks/{webhookId}/deliveries",
  tags,
  security,
  middleware: guard,
  summary: "Deliveries to an endpoint",
  description: `One delivery is one event sent to this endpoint; each lists every attempt with its HTTP status, latency and error. Newest first. ${WHO}`,
  request: { params: WebhookParamsSchema, query: IdPageQuerySchema },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(WebhookDeliverySchema, "WebhookDeliveryPage") } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});
const replay = route({
  method: "post",
  path: "/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
  tags,
  security,
  middleware: guard,
  summary: "Send a delivery's event again",
  description: `A new delivery of the same event, with the same \`webhook-id\` and body, freshly signed. 409 when the endpoint is disabled. ${WHO}`,
  request: { params: DeliveryParamsSchema },
  responses: {
    202: jsonResponse("Queued", WebhookDeliverySchema),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});
const test = route({
  method: "post",
  path: "/{orgId}/webhooks/{webhookId}/test",
  tags,
  security,
  middleware: guard,
  summary: "Send a test event",
  description: `A \`webhook.test\` event (data: \`{endpointId, message}\`) to this endpoint only, whatever it subscribes to. 409 when the endpoint is disabled. ${WHO}`,
  request: { params: WebhookParamsSchema },
  responses: {
    202: jsonResponse("Queued", WebhookDeliverySchema),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

/** Mounted at /v1/orgs. */
export const webhookDeliveryRoutes = createRouter()
  .openapi(rotate, async (c) => {
    const { webhookId } = c.req.valid("param");
    const rotated = await endpoints.rotateSecret(svc(c), orgMember(c), webhookId);
    c.header("Cache-Control", "no-store"); // it carries the secret
    return c.json(rotated, 200);
  })
  .openapi(list, async (c) => {
    const { orgId, webhookId } = c.req.valid("param");
    const { limit = 50, cursor } = c.req.valid("query");
    return c.json(await deliveries.listDeliveries(svc(c), orgId, webhookId, limit, cursor), 200);
  })
  .openapi(replay, async (c) => {
    const { webhookId, deliveryId } = c.req.valid("param");
    return c.json(await deliveries.replayDelivery(svc(c), orgMember(c), webhookId, deliveryId), 202);
  })
  .openapi(test, async (c) => {
    const { webhookId } = c.req.valid("param");
    return c.json(await deliveries.sendTestEvent(svc(c), orgMember(c), webhookId), 202);
  });
