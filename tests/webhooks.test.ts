import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { webhookEndpoints } from "../src/db/schema.ts";
import {
  WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
} from "../src/routes/webhooks/webhooks.schema.ts";
import { api, apiWithEnv, eventually, jsonBody, parsed } from "./helpers/api.ts";
import { rows } from "./helpers/faults.ts";
import { authed, insertOrg, testDb } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { registerUser, type TestUser } from "./helpers/users.ts";
import {
  createWebhook,
  deliveriesOf,
  hookUrl,
  receivedAtLeast,
  receiverKey,
  verify,
} from "./helpers/webhooks.ts";

let owner: TestUser;
let orgId: string;
beforeAll(async () => {
  owner = await registerUser();
  orgId = await insertOrg(owner);
});

const path = (suffix = "") => `/v1/orgs/${orgId}/webhooks${suffix}`;

describe("webhook endpoints", () => {
  it("shows the secret once, as whsec_<base64>, and stores it only encrypted", async () => {
    const hook = await createWebhook(owner.accessToken, orgId, receiverKey(), ["message.created"]);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(hook).toMatchObject({
      orgId,
      events: ["message.created"],
      enabled: true,
      description: "test receiver",
    });

    const [row] = await testDb().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, hook.id));
    expect(row!.secretEnc).toMatch(/^v1\./);
    const secretBody = hook.secret.slice("whsec_".length);
    expect(JSON.stringify(row)).not.toContain(secretBody);

    for (const res of [
      await api(path(`/${hook.id}`), authed(owner.accessToken, "GET")),
      await api(path(), authed(owner.accessToken, "GET")),
    ]) {
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).not.toContain(secretBody);
      expect(text).not.toContain('secret"');
    }
    const one = WebhookEndpointSchema.strict().parse(
      await (await api(path(`/${hook.id}`), authed(owner.accessToken, "GET"))).json(),
    );
    expect(one.id).toBe(hook.id);
  });

  it("lists newest first with a cursor, changes and deletes", async () => {
    const org = await insertOrg(owner);
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await createWebhook(owner.accessToken, org, receiverKey(), ["room.created"]));
    const first = (await (
      await api(`/v1/orgs/${org}/webhooks?limit=2`, authed(owner.accessToken, "GET"))
    ).json()) as { items: Array<{ id: string }>; nextCursor: string };
    expect(first.items.map((h) => h.id)).toEqual([made[2]!.id, made[1]!.id]);
    const second = (await (
      await api(
        `/v1/orgs/${org}/webhooks?limit=2&cursor=${first.nextCursor}`,
        authed(owner.accessToken, "GET"),
      )
    ).json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    expect(second).toEqual({ items: [expect.objectContaining({ id: made[0]!.id })], nextCursor: null });

    const patched = await api(
      `/v1/orgs/${org}/webhooks/${made[0]!.id}`,
      authed(owner.accessToken, "PATCH", {
        events: ["file.ready", "file.ready"],
        description: null,
        enabled: false,
      }),
    );
    expect(await patched.json()).toMatchObject({
      events: ["file.ready"],
      description: null,
      enabled: false,
      disabledReason: "disabled by an admin",
    });
    const deleted = await api(`/v1/orgs/${org}/webhooks/${made[0]!.id}`, authed(owner.accessToken, "DELETE"));
    expect(deleted.status).toBe(204);
    await expectProblem(
      await api(`/v1/orgs/${org}/webhooks/${made[0]!.id}`, authed(owner.accessToken, "GET")),
      404,
      "not_found",
    );
  });

  it("a refused change writes nothing, not even its audit entry (DELETE of an unknown endpoint)", async () => {
    const unknown = "01a2345a-0000-7000-8000-000000000001";
    await expectProblem(
      await api(path(`/${unknown}`), authed(owner.accessToken, "DELETE")),
      404,
      "not_found",
    );
    expect(await rows("select count(*) as n from audit_log where target_id = ?", [unknown])).toEqual([
      { n: 0 },
    ]);
  });

  it("refuses unknown events, unknown fields and an empty event list", async () => {
    for (const body of [
      { url: hookUrl("x"), events: ["message.exploded"] },
      { url: hookUrl("x"), events: [] },
      { url: hookUrl("x"), events: ["room.created"], secret: "whsec_mine" },
    ]) {
      await expectProblem(
        await api(path(), authed(owner.accessToken, "POST", body)),
        400,
        "validation_failed",
      );
    }
  });
});

describe("webhook URL policy", () => {
  const refused = async (url: string, env: Record<string, string> = {}) => {
    const res = await apiWithEnv(
      env,
      path(),
      jsonBody(
        { url, events: ["room.created"] },
        { headers: { authorization: `Bearer ${owner.accessToken}` } },
      ),
    );
    const problem = await expectProblem(res, 400, "validation_failed");
    expect(problem.errors).toEqual([expect.objectContaining({ path: "url" })]);
  };

  it("refuses plain http outside development and test, even to loopback", async () => {
    await refused(hookUrl("x"), { ENVIRONMENT: "production" });
    await refused("http://hooks.example.com/petrel", { ENVIRONMENT: "production" });
    await refused("http://hooks.example.com/petrel"); // http to a public host: not even in test
  });

  it("refuses loopback and private addresses over https outside development, and credentials anywhere", async () => {
    for (const url of [
      "https://127.0.0.1/x",
      "https://localhost/x",
      "https://10.1.2.3/x",
      "https://192.168.0.9/x",
      "https://169.254.169.254/latest",
      "https://[::1]/x",
      "https://[fd00::1]/x",
    ]) {
      await refused(url, { ENVIRONMENT: "production" });
    }
    await refused("https://user:pass@hooks.example.com/x");
    await refused("not a url");
  });

  it("accepts https to a public host in production", async () => {
    const res = await apiWithEnv(
      { ENVIRONMENT: "production" },
      path(),
      jsonBody(
        { url: "https://hooks.example.com/petrel#frag", events: ["room.created"] },
        { headers: { authorization: `Bearer ${owner.accessToken}` } },
      ),
    );
    expect(res.status).toBe(201);
    expect((await parsed(res, WebhookEndpointWithSecretSchema)).url).toBe("https://hooks.example.com/petrel");
  });
});

describe("POST …/test", () => {
  it("sends a webhook.test event that standardwebhooks verifies, recorded as a delivery with its attempt", async () => {
    const key = receiverKey();
    const hook = await createWebhook(owner.accessToken, orgId, key, ["member.added"]);
    const res = await api(path(`/${hook.id}/test`), authed(owner.accessToken, "POST"));
    expect(res.status).toBe(202);
    const queued = (await res.json()) as { id: string; eventId: string; eventType: string };
    expect(queued.eventType).toBe("webhook.test");

    const [req] = await receivedAtLeast(key, 1);
    expect(req!.method).toBe("POST");
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["webhook-id"]).toBe(queued.eventId);
    expect(req!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const event = verify(req!, hook.secret);
    expect(event).toEqual({
      id: queued.eventId,
      type: "webhook.test",
      orgId,
      createdAt: expect.any(String),
      data: { endpointId: hook.id, message: expect.any(String) },
    });
    expect(() => verify({ ...req!, body: req!.body.replace("test", "tost") }, hook.secret)).toThrow();

    const delivery = await eventually(async () => {
      const [d] = await deliveriesOf(owner.accessToken, orgId, hook.id);
      return d?.status === "succeeded" ? d : undefined;
    });
    expect(delivery).toMatchObject({ id: queued.id, eventId: queued.eventId, status: "succeeded" });
    expect(delivery!.attempts).toEqual([
      expect.objectContaining({ statusCode: 200, error: null, latencyMs: expect.any(Number) }),
    ]);
  });
});

describe("webhooks in /openapi.json", () => {
  it("documents every webhook route and the body receivers get", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; description?: string }> };
    };
    const ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags?.includes("Webhooks"))
        .map(([m]) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops.sort()).toEqual(
      [
        "POST /v1/orgs/{orgId}/webhooks",
        "GET /v1/orgs/{orgId}/webhooks",
        "GET /v1/orgs/{orgId}/webhooks/{webhookId}",
        "PATCH /v1/orgs/{orgId}/webhooks/{webhookId}",
        "DELETE /v1/orgs/{orgId}/webhooks/{webhookId}",
        "POST /v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret",
        "GET /v1/orgs/{orgId}/webhooks/{webhookId}/deliveries",
        "POST /v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
        "POST /v1/orgs/{orgId}/webhooks/{webhookId}/test",
      ].sort(),
    );
    const event = doc.components.schemas.WebhookEvent!;
    expect(Object.keys(event.properties ?? {}).sort()).toEqual(["createdAt", "data", "id", "orgId", "type"]);
    expect(event.description).toContain("webhook-signature");
  });
});
