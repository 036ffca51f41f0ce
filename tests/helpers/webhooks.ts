import { Webhook } from "standardwebhooks";
import { expect, inject } from "vitest";
import {
  WebhookDeliverySchema,
  WebhookEndpointWithSecretSchema,
} from "../../src/routes/webhooks/webhooks.schema.ts";
import type { Received } from "../setup/webhook-receiver.ts";
import { api, eventually, parsed } from "./api.ts";
import { authed } from "./orgs.ts";

export type { Received };

/** A fresh key on the receiver: its own URL, script and recording. */
export const receiverKey = () => crypto.randomUUID();
export const hookUrl = (key: string) => `${inject("webhookReceiverUrl")}/hooks/${key}`;

/** The receiver answers the next requests for `key` with these statuses (then 200). */
export async function script(key: string, statuses: number[]) {
  const res = await fetch(`${inject("webhookReceiverUrl")}/script/${key}`, {
    method: "POST",
    body: JSON.stringify({ statuses }),
  });
  expect(res.status).toBe(204);
}

/** Everything the receiver got for `key`, exactly as it arrived. */
export async function received(key: string): Promise<Received[]> {
  return (await (await fetch(`${inject("webhookReceiverUrl")}/requests/${key}`)).json()) as Received[];
}

/** Wait until the receiver has `n` requests for `key` (deliveries run on the queue, after the response). */
export function receivedAtLeast(key: string, n: number, timeoutMs = 20_000): Promise<Received[]> {
  return eventually(
    async () => {
      const got = await received(key);
      return got.length >= n ? got : undefined;
    },
    timeoutMs,
    `${n} webhook request(s) for ${key}`,
  );
}

/** Verify a received request with the `standardwebhooks` package; returns the parsed payload. */
export function verify(req: Received, secret: string): WebhookPayload {
  return new Webhook(secret).verify(req.body, req.headers) as WebhookPayload;
}

export interface WebhookPayload {
  id: string;
  type: string;
  orgId: string;
  createdAt: string;
  data: Record<string, unknown>;
}

export async function createWebhook(token: string, orgId: string, key: string, events: string[]) {
  const res = await api(
    `/v1/orgs/${orgId}/webhooks`,
    authed(token, "POST", { url: hookUrl(key), events, description: "test receiver" }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  expect(res.headers.get("cache-control")).toBe("no-store"); // the secret is in it
  return parsed(res, WebhookEndpointWithSecretSchema);
}

export async function deliveriesOf(token: string, orgId: string, webhookId: string) {
  const res = await api(`/v1/orgs/${orgId}/webhooks/${webhookId}/deliveries?limit=100`, authed(token, "GET"));
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: unknown[] };
  return body.items.map((d) => WebhookDeliverySchema.parse(d));
}
