import { eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "../src/db/schema.ts";
import { uuidv7 } from "../src/lib/ids.ts";
import { encryptSecret, newWebhookSecret } from "../src/services/webhooks/secrets.ts";
import { insertOrg, testDb } from "./helpers/orgs.ts";
import {
  expectEveryOperationExercised,
  isSuccess,
  type RouteSpec,
  routeSpecs,
  runRoleMatrix,
  type StatusRow,
  type World,
} from "./helpers/role-matrix.ts";
import { hookUrl, receiverKey } from "./helpers/webhooks.ts";

/**
 * THE table for webhooks: only org admins and owners manage them. Members and guests get 403,
 * outsiders and global admins (not members) 404, bad credentials 401. Each cell has a fresh org
 * with one endpoint (and one delivery) written straight to the database.
 */
// biome-ignore format: keep the table aligned
const STATUS = {
  //                                          bad   outsider guest  member admin  owner  global
  "POST webhooks":                           [401,  404,     403,   403,   201,   201,   404],
  "GET webhooks":                            [401,  404,     403,   403,   200,   200,   404],
  "GET webhook":                             [401,  404,     403,   403,   200,   200,   404],
  "GET webhook: another org's":              [401,  404,     403,   403,   404,   404,   404],
  "PATCH webhook":                           [401,  404,     403,   403,   200,   200,   404],
  "DELETE webhook":                          [401,  404,     403,   403,   204,   204,   404],
  "POST rotate-secret":                      [401,  404,     403,   403,   200,   200,   404],
  "GET deliveries":                          [401,  404,     403,   403,   200,   200,   404],
  "POST replay":                             [401,  404,     403,   403,   202,   202,   404],
  "POST replay: another endpoint's delivery":[401,  404,     403,   403,   404,   404,   404],
  "POST test":                               [401,  404,     403,   403,   202,   202,   404],
} satisfies Record<string, StatusRow>;

async function fixture(orgId: string) {
  const id = uuidv7();
  const db = testDb();
  const eventId = uuidv7();
  const deliveryId = uuidv7();
  await db.batch([
    db.insert(webhookEndpoints).values({
      id,
      orgId,
      url: hookUrl(receiverKey()),
      events: ["room.created"],
      description: "before",
      secretEnc: await encryptSecret(inject("bindings").SERVER_SECRET!, id, newWebhookSecret()),
    }),
    db.insert(webhookEvents).values({ id: eventId, orgId, type: "room.created", payload: "{}" }),
    db.insert(webhookDeliveries).values({ id: deliveryId, eventId, endpointId: id, status: "succeeded" }),
  ]);
  return { id, deliveryId };
}
const endpointRow = async (id: string) =>
  (await testDb().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0];
const deliveriesOf = async (id: string) =>
  (await testDb().select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id))).length;
const base = (w: World) => `/v1/orgs/${w.orgId}/webhooks`;

const REQUESTS: Record<keyof typeof STATUS, RouteSpec["request"]> = {
  "POST webhooks": (w) => ({
    method: "POST",
    path: base(w),
    body: { url: hookUrl(receiverKey()), events: ["message.created"] },
    check: async (status) => {
      const rows = await testDb().select().from(webhookEndpoints).where(eq(webhookEndpoints.orgId, w.orgId));
      expect(rows.length).toBe(isSuccess(status) ? 1 : 0);
    },
  }),
  "GET webhooks": async (w) => {
    await fixture(w.orgId);
    return { method: "GET", path: base(w) };
  },
  "GET webhook": async (w) => ({ method: "GET", path: `${base(w)}/${(await fixture(w.orgId)).id}` }),
  "GET webhook: another org's": async (w) => {
    const other = await fixture(await insertOrg(w.cast.owner));
    return { method: "GET", path: `${base(w)}/${other.id}` };
  },
  "PATCH webhook": async (w) => {
    const { id } = await fixture(w.orgId);
    return {
      method: "PATCH",
      path: `${base(w)}/${id}`,
      body: { description: "after" },
      check: async (status) =>
        expect((await endpointRow(id))?.description).toBe(isSuccess(status) ? "after" : "before"),
    };
  },
  "DELETE webhook": async (w) => {
    const { id } = await fixture(w.orgId);
    return {
      method: "DELETE",
      path: `${base(w)}/${id}`,
      check: async (status) => expect(Boolean(await endpointRow(id))).toBe(!isSuccess(status)),
    };
  },
  "POST rotate-secret": async (w) => {
    const { id } = await fixture(w.orgId);
    const before = (await endpointRow(id))!.secretEnc;
    return {
      method: "POST",
      path: `${base(w)}/${id}/rotate-secret`,
      check: async (status) => {
        const row = (await endpointRow(id))!;
        expect(row.secretEnc !== before).toBe(isSuccess(status));
        expect(row.previousSecretEnc).toBe(isSuccess(status) ? before : null);
      },
    };
  },
  "GET deliveries": async (w) => ({
    method: "GET",
    path: `${base(w)}/${(await fixture(w.orgId)).id}/deliveries`,
  }),
  "POST replay": async (w) => {
    const { id, deliveryId } = await fixture(w.orgId);
    return {
      method: "POST",
      path: `${base(w)}/${id}/deliveries/${deliveryId}/replay`,
      check: async (status) => expect(await deliveriesOf(id)).toBe(isSuccess(status) ? 2 : 1),
    };
  },
  "POST replay: another endpoint's delivery": async (w) => {
    const mine = await fixture(w.orgId);
    const other = await fixture(w.orgId);
    return {
      method: "POST",
      path: `${base(w)}/${mine.id}/deliveries/${other.deliveryId}/replay`,
      check: async () => expect(await deliveriesOf(mine.id)).toBe(1),
    };
  },
  "POST test": async (w) => {
    const { id } = await fixture(w.orgId);
    return {
      method: "POST",
      path: `${base(w)}/${id}/test`,
      check: async (status) => expect(await deliveriesOf(id)).toBe(isSuccess(status) ? 2 : 1),
    };
  },
};

describe("role matrix: every webhook route × every caller", () => {
  runRoleMatrix(routeSpecs(STATUS, REQUESTS));

  it("has a row for every operation tagged Webhooks in /openapi.json", async () => {
    await expectEveryOperationExercised(["Webhooks"], 9);
  });
});
