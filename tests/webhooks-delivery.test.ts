import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { retryDelaySeconds, webhookQueueBatch } from "../src/jobs.ts";
import { uuidv7 } from "../src/lib/ids.ts";
import { api, BASE, eventually } from "./helpers/api.ts";
import { rows } from "./helpers/faults.ts";
import { addMember, authed, createOrg, testDb } from "./helpers/orgs.ts";
import { registerUser, type TestUser } from "./helpers/users.ts";
import {
  createWebhook,
  deliveriesOf,
  received,
  receivedAtLeast,
  receiverKey,
  script,
  verify,
} from "./helpers/webhooks.ts";

let owner: TestUser;
let orgId: string;
beforeAll(async () => {
  owner = await registerUser();
  orgId = (await createOrg(owner)).id;
});
const as = (method: string, body?: unknown) => authed(owner.accessToken, method, body);
const hooks = (suffix = "") => `/v1/orgs/${orgId}/webhooks${suffix}`;

async function createRoom(org = orgId) {
  const res = await api(`/v1/orgs/${org}/rooms`, as("POST", { name: "r", visibility: "public" }));
  expect(res.status).toBe(201);
}

/** A delivery of a stored event to `endpointId`, written straight to the database (consumer tests). */
async function storedDelivery(endpointId: string) {
  const eventId = uuidv7();
  const id = uuidv7();
  const body = JSON.stringify({
    id: eventId,
    type: "room.created",
    orgId,
    createdAt: new Date().toISOString(),
    data: {},
  });
  const db = testDb();
  await db.batch([
    db.insert(webhookEvents).values({ id: eventId, orgId, type: "room.created", payload: body }),
    db.insert(webhookDeliveries).values({ id, eventId, endpointId, enqueuedAt: new Date().toISOString() }),
  ]);
  return { id, eventId };
}

/** Run the real queue consumer on one message, at `nowMs` on its clock. */
async function consume(
  deliveryId: string,
  attempts: number,
  nowMs: number,
  queue = "petrel-webhooks",
  vars: Record<string, string> = {},
) {
  const batch = createMessageBatch(queue, [
    { id: uuidv7(), timestamp: nowMs, attempts, body: { deliveryId } },
  ]);
  const ctx = createExecutionContext();
  await webhookQueueBatch(batch, { ...env, ...vars }, ctx, () => nowMs);
  return getQueueResult(batch, ctx);
}

describe("webhook delivery on the queue", () => {
  it("retries with backoff: a receiver that answers 500 twice gets the same webhook-id a third time", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["room.created"]);
    await script(key, [500, 500]);
    await createRoom();
    const got = await receivedAtLeast(key, 3, 30_000);
    expect(got).toHaveLength(3);
    const ids = got.map((r) => verify(r, hook.secret).id);
    expect(new Set(ids).size).toBe(1);
    // Queues' delays between attempts (WEBHOOK_RETRY_BASE_SECONDS=1 in tests): 1 s, then 2 s.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(900);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(1900);
    const delivery = await eventually(async () => {
      const [d] = await deliveriesOf(owner.accessToken, orgId, hook.id);
      return d?.status === "succeeded" ? d : undefined;
    });
    expect(delivery.eventId).toBe(ids[0]);
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    expect(delivery.attempts[0]!.error).toMatch(/^HTTP 500: x+$/);
    expect(delivery.attempts[0]!.error!.length).toBeLessThanOrEqual(210); // the 5,000-byte answer was capped
  });

  it("a dispatcher stopped between commit and enqueue: the cron sweep delivers it", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["room.created"]);
    const down = {
      send: () => Promise.reject(new Error("queue down")),
      sendBatch: () => Promise.reject(new Error("queue down")),
    };
    const ctx = createExecutionContext();
    const req = new Request(
      `${BASE}/v1/orgs/${orgId}/rooms`,
      as("POST", { name: "r", visibility: "public" }),
    );
    const res = await worker.fetch(
      req as Parameters<typeof worker.fetch>[0],
      { ...env, WEBHOOKS: down as unknown as Queue },
      ctx,
    );
    expect(res.status).toBe(201);
    await waitOnExecutionContext(ctx);
    const pending = await rows("select id, enqueued_at from webhook_deliveries where endpoint_id = ?", [
      hook.id,
    ]);
    expect(pending).toEqual([expect.objectContaining({ enqueued_at: null })]);
    expect(await received(key)).toEqual([]);

    const cron = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() + 60_000 }),
      env,
      cron,
    );
    await waitOnExecutionContext(cron);
    const [got] = await receivedAtLeast(key, 1);
    expect(verify(got!, hook.secret).type).toBe("room.created");
  });

  it("rotation: both secrets sign for 24 h, then only the new one", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["room.created"]);
    const rotation = await api(hooks(`/${hook.id}/rotate-secret`), as("POST"));
    expect(rotation.headers.get("cache-control")).toBe("no-store");
    const rotated = (await rotation.json()) as {
      secret: string;
      previousSecretExpiresAt: string;
    };
    expect(rotated.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect((await api(hooks(`/${hook.id}/test`), as("POST"))).status).toBe(202);
    const [both] = await receivedAtLeast(key, 1);
    expect(both!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verify(both!, hook.secret).type).toBe("webhook.test");
    expect(verify(both!, rotated.secret).type).toBe("webhook.test");

    await testDb()
      .update(webhookEndpoints)
      .set({ previousSecretUntil: "2000-01-01T00:00:00.000Z" })
      .where(eq(webhookEndpoints.id, hook.id));
    expect((await api(hooks(`/${hook.id}/test`), as("POST"))).status).toBe(202);
    const [, after] = await receivedAtLeast(key, 2);
    expect(after!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verify(after!, rotated.secret).type).toBe("webhook.test");
    expect(() => verify(after!, hook.secret)).toThrow(/signature/i);
  });

  it("replay resends the same webhook-id and body as a new delivery", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["room.created"]);
    await createRoom();
    const [first] = await receivedAtLeast(key, 1);
    const [original] = await deliveriesOf(owner.accessToken, orgId, hook.id);
    const res = await api(hooks(`/${hook.id}/deliveries/${original!.id}/replay`), as("POST"));
    expect(res.status).toBe(202);
    const replay = (await res.json()) as { id: string; eventId: string };
    expect(replay.id).not.toBe(original!.id);
    expect(replay.eventId).toBe(original!.eventId);
    const [, again] = await receivedAtLeast(key, 2);
    expect(again!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(again!.body).toBe(first!.body);
    expect(verify(again!, hook.secret).id).toBe(original!.eventId);
  });

  it("does not follow redirects, and is idempotent per delivery: a delivered message is not sent again", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["file.ready"]);
    await script(key, [302]);
    const d = await storedDelivery(hook.id);
    expect((await consume(d.id, 1, Date.now())).retryMessages).toHaveLength(1);
    const [attempt] = await rows("select status_code, error from webhook_attempts where delivery_id = ?", [
      d.id,
    ]);
    expect(attempt).toEqual({ status_code: 302, error: "redirect not followed (HTTP 302)" });
    expect(await received(`${key}-redirected`)).toEqual([]);

    expect((await consume(d.id, 2, Date.now())).explicitAcks).toHaveLength(1); // 200 now
    expect((await consume(d.id, 3, Date.now())).explicitAcks).toHaveLength(1); // already delivered: acked, not sent
    expect(await received(key)).toHaveLength(2);
    expect(await rows("select status, attempts from webhook_deliveries where id = ?", [d.id])).toEqual([
      { status: "succeeded", attempts: 2 },
    ]);
  });

  it("gives up on a receiver that never answers after WEBHOOK_TIMEOUT_MS, and retries later", async () => {
    const res = await api(
      hooks(),
      as("POST", { url: `${inject("hungUrl")}/hook`, events: ["room.created"] }),
    );
    expect(res.status).toBe(201);
    const hook = (await res.json()) as { id: string };
    const d = await storedDelivery(hook.id);
    const result = await consume(d.id, 1, Date.now(), "petrel-webhooks", { WEBHOOK_TIMEOUT_MS: "300" });
    expect(result.retryMessages).toHaveLength(1);
    const [attempt] = await rows(
      "select status_code, error, latency_ms from webhook_attempts where delivery_id = ?",
      [d.id],
    );
    expect(attempt).toMatchObject({ status_code: null, error: "timed out after 300 ms" });
    expect(Number(attempt!.latency_ms)).toBeGreaterThanOrEqual(290);
  });

  it("the dead-letter queue marks a delivery failed", async () => {
    const hook = await createWebhook(owner.accessToken, orgId, receiverKey(), ["room.created"]);
    const d = await storedDelivery(hook.id);
    expect((await consume(d.id, 1, Date.now(), "petrel-webhooks-dlq")).explicitAcks).toHaveLength(1);
    expect(await rows("select status from webhook_deliveries where id = ?", [d.id])).toEqual([
      { status: "failed" },
    ]);
  });
});

it("backs off exponentially from WEBHOOK_RETRY_BASE_SECONDS, at most 12 h (Queues' limit)", () => {
  expect([1, 2, 3, 4, 10, 30].map((n) => retryDelaySeconds(30, n))).toEqual([
    30, 60, 120, 240, 15_360, 43_200,
  ]);
});

describe("disabling a failing endpoint (time injected into the consumer)", () => {
  const MIN = 60_000;
  async function failingEndpoint(org: string) {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, org, key, ["room.created"]);
    await script(key, Array(10).fill(500));
    return hook;
  }

  it("5 failures in a row within minutes do not disable it", async () => {
    const hook = await failingEndpoint(orgId);
    const t0 = Date.now();
    for (let i = 1; i <= 6; i++) {
      const d = await storedDelivery(hook.id);
      const result = await consume(d.id, i, t0 + i * MIN);
      // (the test batch of @cloudflare/vitest-plugin does not record delaySeconds; see the backoff test)
      expect(result.retryMessages).toHaveLength(1);
    }
    expect(
      await rows("select disabled_at, failure_streak from webhook_endpoints where id = ?", [hook.id]),
    ).toEqual([{ disabled_at: null, failure_streak: 6 }]);
  });

  it("5 failures in a row over more than an hour disable it, notify the org's admins and owners, and audit it", async () => {
    const org = (await createOrg(owner)).id;
    const [admin, member] = [await registerUser(), await registerUser()];
    await addMember(org, admin, "admin");
    await addMember(org, member, "member");
    const hook = await failingEndpoint(org);
    const t0 = Date.now();
    for (let i = 1; i <= 5; i++) await consume((await storedDelivery(hook.id)).id, 1, t0 + i * 20 * MIN);
    const view = (await (await api(`/v1/orgs/${org}/webhooks/${hook.id}`, as("GET"))).json()) as Record<
      string,
      unknown
    >;
    expect(view).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining("5 failed attempts"),
    });
    for (const [user, expected] of [
      [owner, 1],
      [admin, 1],
      [member, 0],
    ] as const) {
      const list = (await (await api("/v1/notifications", authed(user.accessToken, "GET"))).json()) as {
        items: Array<{ type: string; data: { endpointId: string } }>;
      };
      expect(
        list.items.filter((n) => n.type === "webhook_disabled" && n.data.endpointId === hook.id),
      ).toHaveLength(expected);
    }
    expect(
      await rows(
        "select action, actor_id from audit_log where target_id = ? and action = 'webhook.disabled'",
        [hook.id],
      ),
    ).toEqual([{ action: "webhook.disabled", actor_id: null }]);
    // Disabled: no more deliveries for it; re-enabling starts the streak over.
    await createRoom(org);
    expect(
      await rows("select count(*) as n from webhook_deliveries where endpoint_id = ?", [hook.id]),
    ).toEqual([{ n: 5 }]);
    const patched = await api(`/v1/orgs/${org}/webhooks/${hook.id}`, as("PATCH", { enabled: true }));
    expect(await patched.json()).toMatchObject({ enabled: true, disabledAt: null });
    expect(await rows("select failure_streak from webhook_endpoints where id = ?", [hook.id])).toEqual([
      { failure_streak: 0 },
    ]);
  });
});
