import { z } from "@hono/zod-openapi";
import { IdSchema } from "../../lib/ids.ts";
import { name } from "../../lib/text.ts";
import { WEBHOOK_EVENT_TYPES } from "../../services/webhooks/event-types.ts";
import { MAX_URL_LENGTH } from "../../services/webhooks/url-policy.ts";

const Timestamp = z.string().openapi({ format: "date-time" });

export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).openapi("WebhookEventType", {
  description:
    "message.created|updated|deleted (data: {message}), room.created|deleted ({room}), member.added|removed ({member}), member.role_changed ({member, previousRole}), file.ready|deleted ({file}). `webhook.test` is sent only by POST …/test.",
});

const Url = z.string().min(1).max(MAX_URL_LENGTH).openapi({
  example: "https://hooks.example.com/petrel",
  description:
    "`https` only (plain `http` to a loopback host in development and test); no credentials, no private or loopback addresses. Redirects are never followed.",
});
const Events = z
  .array(WebhookEventTypeSchema)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .openapi({ description: "The event types to receive (duplicates are dropped)" });
const Description = name({ max: 500 }).openapi({ example: "Search indexer" });

export const CreateWebhookBodySchema = z
  .object({ url: Url, events: Events, description: Description.optional() })
  .strict()
  .openapi("CreateWebhookBody");

export const PatchWebhookBodySchema = z
  .object({
    url: Url.optional(),
    events: Events.optional(),
    description: Description.nullable().optional(),
    enabled: z.boolean().optional().openapi({
      description:
        "`true` re-enables a disabled endpoint (its failure streak starts over); `false` disables it",
    }),
  })
  .strict()
  .openapi("PatchWebhookBody");

export const WebhookEndpointSchema = z
  .object({
    id: IdSchema,
    orgId: IdSchema,
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabledAt: Timestamp.nullable(),
    disabledReason: z.string().nullable(),
    previousSecretExpiresAt: Timestamp.nullable().openapi({
      description: "After a rotation: until then the previous secret signs too (a second `v1,` signature)",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("WebhookEndpoint");

export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    description: "The signing secret, `whsec_<base64>`. Shown only in this response: store it now.",
  }),
}).openapi("WebhookEndpointWithSecret");

export const WebhookAttemptSchema = z
  .object({
    id: IdSchema,
    at: Timestamp,
    statusCode: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's HTTP status; null when none came" }),
    latencyMs: z.number().int(),
    error: z.string().nullable().openapi({ description: "Why the attempt failed (null: it succeeded)" }),
  })
  .openapi("WebhookAttempt");

export const WebhookDeliverySchema = z
  .object({
    id: IdSchema,
    eventId: IdSchema.meta({ description: "Sent as `webhook-id`: the same on every retry and replay" }),
    eventType: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    createdAt: Timestamp,
    lastAttemptAt: Timestamp.nullable(),
    attempts: z.array(WebhookAttemptSchema),
  })
  .openapi("WebhookDelivery");

/** What a receiver gets: documented as a component (receivers are not API routes). */
export const WebhookEventSchema = z
  .object({
    id: IdSchema.meta({
      description: "The event id; also the `webhook-id` header, the same on every retry and replay",
    }),
    type: z.union([WebhookEventTypeSchema, z.literal("webhook.test")]),
    orgId: IdSchema,
    createdAt: Timestamp.openapi({ description: "When the change committed (the database's clock)" }),
    data: z.record(z.string(), z.unknown()).openapi({
      description: "See WebhookEventType: {message}, {room}, {member}, {member, previousRole}, {file}",
    }),
  })
  .openapi("WebhookEvent", {
    description:
      "The JSON body POSTed to an endpoint, with the headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the secret's bytes; two space-separated signatures for 24 h after a rotation). Verify with the `standardwebhooks` package.",
  });

export const WebhookParamsSchema = z.object({ orgId: IdSchema, webhookId: IdSchema });
export const DeliveryParamsSchema = WebhookParamsSchema.extend({ deliveryId: IdSchema });
