/**
 * `messages-post-webhook`: messages-post in an org with a webhook endpoint subscribed to
 * message.created, so every post also writes its outbox rows, enqueues the delivery after the
 * response, and the Worker's queue consumer signs and POSTs it to a local receiver (Node,
 * answers 204). Compared with `messages-post` (an org without endpoints) in the same run.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createClient } from "@libsql/client";
import { uuidv7 } from "../../src/lib/ids.ts";
import { encryptSecret, newWebhookSecret } from "../../src/services/webhooks/secrets.ts";
import { register } from "./identity-scenarios.ts";
import type { BenchContext, Scenario } from "./scenarios.ts";

async function startReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/hook`,
    received: () => received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function json(ctx: BenchContext, path: string, token: string, body: unknown) {
  const res = await ctx.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${path} answered ${res.status}`);
  return (await res.json()) as { id: string };
}

export const webhookScenario: Scenario = {
  name: "messages-post-webhook",
  method: "POST",
  path: "/v1/rooms/:id/messages",
  description:
    "messages-post in an org with a webhook on message.created: outbox rows in the post's batch, enqueue after the response, delivery by the queue consumer",
  setup: async (ctx) => {
    const receiver = await startReceiver();
    const u = await register(ctx, "hook");
    const orgId = (await json(ctx, "/v1/orgs", u.accessToken, { name: "Bench hooks" })).id;
    // Written straight to the database: the bench runs as production, where the API accepts only
    // https URLs, and the receiver is plain http on loopback. Before the first write reads the
    // org's subscriptions, so no cached "no endpoints" hides it.
    const id = uuidv7();
    const db = createClient({ url: ctx.services.libsqlUrl });
    const secretEnc = await encryptSecret(ctx.vars.SERVER_SECRET!, id, newWebhookSecret());
    await db.execute({
      sql: "insert into webhook_endpoints (id, org_id, url, events, secret_enc) values (?, ?, ?, ?, ?)",
      args: [id, orgId, receiver.url, JSON.stringify(["message.created"]), secretEnc],
    });
    db.close();
    const roomId = (
      await json(ctx, `/v1/orgs/${orgId}/rooms`, u.accessToken, { name: "b", visibility: "public" })
    ).id;
    const body = () => JSON.stringify({ body: "hello from the benchmark", clientId: randomUUID() });
    return {
      path: `/v1/rooms/${roomId}/messages`,
      headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
      body: body(),
      setupRequest: (req) => ({ ...req, body: body() }),
      teardown: async () => {
        console.log(`messages-post-webhook: the receiver got ${receiver.received()} deliveries`);
        await receiver.close();
      },
    };
  },
};
