import { beforeAll, describe, expect, inject, it } from "vitest";
import { WEBHOOK_EVENT_TYPES } from "../src/services/webhooks/event-types.ts";
import { api, jsonBody, settled } from "./helpers/api.ts";
import { failingTrigger, rows } from "./helpers/faults.ts";
import { readyFile } from "./helpers/files.ts";
import { addMember, authed, createOrg, insertInvitation } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { rawRoomSocket, until } from "./helpers/realtime.ts";
import { bearer, registerUser, type TestUser } from "./helpers/users.ts";
import {
  createWebhook,
  received,
  receivedAtLeast,
  receiverKey,
  verify,
  type WebhookPayload,
} from "./helpers/webhooks.ts";

/**
 * The outbox: one delivery per committed change, for every event type, each verified with
 * `standardwebhooks` by the test against what the real receiver got; none for a write that
 * failed half-way (sqld triggers), and no change without its event.
 */
let owner: TestUser;
let orgId: string;
let key: string;
let secret: string;
beforeAll(async () => {
  owner = await registerUser();
  orgId = (await createOrg(owner)).id;
  key = receiverKey();
  secret = (await createWebhook(owner.accessToken, orgId, key, [...WEBHOOK_EVENT_TYPES])).secret;
});

const as = (u: TestUser, method: string, body?: unknown) => authed(u.accessToken, method, body);

async function newRoom(org = orgId) {
  const res = await api(`/v1/orgs/${org}/rooms`, as(owner, "POST", { name: "hooks", visibility: "public" }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}
async function post(roomId: string, body: string) {
  return api(
    `/v1/rooms/${roomId}/messages`,
    jsonBody({ body, clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
  );
}

describe("webhooks: one delivery per committed change", () => {
  it("sends every event type exactly once, signed, with the committed snapshot as data", async () => {
    const roomId = await newRoom();
    const posted = (await (await post(roomId, "hello hooks")).json()) as { id: string; seq: number };
    expect((await api(`/v1/messages/${posted.id}`, as(owner, "PATCH", { body: "edited" }))).status).toBe(200);
    expect((await api(`/v1/messages/${posted.id}`, as(owner, "DELETE"))).status).toBe(204);

    const joiner = await registerUser({ verified: true });
    const { token } = await insertInvitation(orgId, joiner.email, "member");
    expect((await api(`/v1/invitations/${token}/accept`, as(joiner, "POST"))).status).toBe(200);
    expect(
      (await api(`/v1/orgs/${orgId}/members/${joiner.id}`, as(owner, "PATCH", { role: "admin" }))).status,
    ).toBe(200);
    expect((await api(`/v1/orgs/${orgId}/members/${joiner.id}`, as(owner, "DELETE"))).status).toBe(204);

    const file = await readyFile(owner, {
      filename: "a.png",
      contentType: "image/png",
      size: 64,
      orgId,
      roomId,
    });
    expect((await api(`/v1/files/${file.id}`, as(owner, "DELETE"))).status).toBe(204);
    expect((await api(`/v1/rooms/${roomId}`, as(owner, "DELETE"))).status).toBe(204);

    const got = await receivedAtLeast(key, WEBHOOK_EVENT_TYPES.length);
    const events = got.map((r) => {
      const e = verify(r, secret);
      expect(r.headers["webhook-id"]).toBe(e.id);
      return e;
    });
    const byType = new Map(events.map((e) => [e.type, e]));
    expect([...events.map((e) => e.type)].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) expect(e).toMatchObject({ orgId, createdAt: expect.stringMatching(/Z$/) });

    const data = (t: string) => byType.get(t)!.data as Record<string, Record<string, unknown>>;
    expect(data("message.created").message).toMatchObject({
      id: posted.id,
      roomId,
      seq: posted.seq,
      body: "hello hooks",
      attachments: [],
      editedAt: null,
      deletedAt: null,
    });
    expect(data("message.updated").message).toMatchObject({
      id: posted.id,
      body: "edited",
      editedAt: expect.any(String),
      deletedAt: null,
    });
    expect(data("message.deleted").message).toMatchObject({
      id: posted.id,
      body: "",
      deletedAt: expect.any(String),
    });
    expect(data("room.created").room).toEqual({
      id: roomId,
      orgId,
      name: "hooks",
      visibility: "public",
      createdBy: owner.id,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastSeq: 0,
    });
    expect(data("room.deleted").room).toMatchObject({ id: roomId, lastSeq: 1 });
    expect(data("member.added").member).toMatchObject({
      userId: joiner.id,
      role: "member",
      handle: joiner.handle,
    });
    expect(byType.get("member.role_changed")!.data).toMatchObject({
      member: { userId: joiner.id, role: "admin" },
      previousRole: "member",
    });
    expect(data("member.removed").member).toMatchObject({ userId: joiner.id, role: "admin" });
    expect(data("file.ready").file).toMatchObject({
      id: file.id,
      status: "ready",
      size: 64,
      contentType: "image/png",
    });
    expect(data("file.deleted").file).toMatchObject({ id: file.id, status: "ready" });
    expect(JSON.stringify(data("file.ready"))).not.toContain("downloadUrl");
  });

  it("emits nothing for the cascade of a deleted room (its messages), and nothing for orgs without endpoints", async () => {
    const quietOrg = (await createOrg(owner)).id;
    const quietRoom = await newRoom(quietOrg);
    expect((await post(quietRoom, "unheard")).status).toBe(201);
    expect(await rows("select count(*) as n from webhook_events where org_id = ?", [quietOrg])).toEqual([
      { n: 0 },
    ]);

    const roomId = await newRoom();
    expect((await post(roomId, "one")).status).toBe(201);
    const before = await rows(
      "select count(*) as n from webhook_events where org_id = ? and type = 'message.deleted'",
      [orgId],
    );
    expect((await settled(`/v1/rooms/${roomId}`, as(owner, "DELETE"))).status).toBe(204);
    expect(
      await rows("select count(*) as n from webhook_events where org_id = ? and type = 'message.deleted'", [
        orgId,
      ]),
    ).toEqual(before);
  });

  it("only for the endpoint's own events", async () => {
    const org = (await createOrg(owner)).id;
    const k = receiverKey();
    await createWebhook(owner.accessToken, org, k, ["room.deleted"]);
    const roomId = await newRoom(org);
    expect(
      (
        await settled(
          `/v1/rooms/${roomId}/messages`,
          jsonBody({ body: "x", clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
        )
      ).status,
    ).toBe(201);
    expect((await settled(`/v1/rooms/${roomId}`, as(owner, "DELETE"))).status).toBe(204);
    const [only] = await receivedAtLeast(k, 1);
    expect((JSON.parse(only!.body) as WebhookPayload).type).toBe("room.deleted");
    expect(await rows("select type from webhook_events where org_id = ?", [org])).toEqual([
      { type: "room.deleted" },
    ]);
  });
});

describe("webhooks: socket messages", () => {
  it("a message sent over the socket (stored by the group commit) has exactly one message.created", async () => {
    const org = (await createOrg(owner)).id;
    const hookKey = receiverKey();
    const hook = await createWebhook(owner.accessToken, org, hookKey, ["message.created"]);
    const roomId = await newRoom(org);
    const sock = await rawRoomSocket(owner, roomId, inject("partyUrl"));
    sock.send({ type: "message", clientId: crypto.randomUUID(), body: "over the socket" });
    await until(() => sock.raw.some((f) => f.type === "ack"), 10_000, "the ack");
    const ack = sock.raw.find((f) => f.type === "ack") as { id: string; seq: number };
    sock.ws.close();
    // A REST post after it: once both deliveries are in, a duplicate of the first would show.
    const rest = (await (await post(roomId, "over REST")).json()) as { id: string };
    const events = (await receivedAtLeast(hookKey, 2)).map((r) => verify(r, hook.secret));
    const messages = events.map(
      (e) => (e.data as { message: { id: string; seq: number; body: string } }).message,
    );
    expect(events.map((e) => e.type)).toEqual(["message.created", "message.created"]);
    expect(messages.map((m) => m.id).sort()).toEqual([ack.id, rest.id].sort());
    expect(messages.find((m) => m.id === ack.id)).toMatchObject({ seq: ack.seq, body: "over the socket" });
  });
});

describe("webhooks: none for a write that failed half-way", () => {
  const eventsOf = (org: string) =>
    rows("select type from webhook_events where org_id = ? order by id", [org]);

  it("a message whose insert fails, a member removal whose delete fails, a room delete that fails", async () => {
    const org = (await createOrg(owner)).id;
    const k = receiverKey();
    await createWebhook(owner.accessToken, org, k, [...WEBHOOK_EVENT_TYPES]);
    const roomId = await newRoom(org);
    const member = await registerUser();
    await addMember(org, member, "member");
    const baseline = await eventsOf(org); // room.created

    const failures = [
      [await failingTrigger("messages", "insert", `$row.room_id = '${roomId}'`), () => post(roomId, "lost")],
      [
        await failingTrigger("memberships", "delete", `$row.user_id = '${member.id}'`),
        () => api(`/v1/orgs/${org}/members/${member.id}`, as(owner, "DELETE")),
      ],
      [
        await failingTrigger("rooms", "delete", `$row.id = '${roomId}'`),
        () => api(`/v1/rooms/${roomId}`, as(owner, "DELETE")),
      ],
    ] as const;
    for (const [trigger, write] of failures) {
      try {
        await expectProblem(await write(), 500, "internal");
      } finally {
        await trigger.drop();
      }
    }
    expect(await eventsOf(org)).toEqual(baseline);
    expect(
      await rows(
        "select count(*) as n from webhook_deliveries d join webhook_events e on e.id = d.event_id where e.org_id = ?",
        [org],
      ),
    ).toEqual([{ n: 1 }]);
    expect((await received(k)).map((r) => (JSON.parse(r.body) as WebhookPayload).type)).not.toContain(
      "message.created",
    );
  });

  it("and no change without its event: an outbox insert that fails rolls the message back", async () => {
    const org = (await createOrg(owner)).id;
    await createWebhook(owner.accessToken, org, receiverKey(), ["message.created"]);
    const roomId = await newRoom(org);
    const trigger = await failingTrigger("webhook_events", "insert", `$row.org_id = '${org}'`);
    try {
      await expectProblem(await post(roomId, "both or neither"), 500, "internal");
    } finally {
      await trigger.drop();
    }
    expect(await rows("select count(*) as n from messages where room_id = ?", [roomId])).toEqual([{ n: 0 }]);
    expect(await rows("select last_seq from rooms where id = ?", [roomId])).toEqual([{ last_seq: 0 }]);
  });
});
