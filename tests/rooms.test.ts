import { describe, expect, it } from "vitest";
import { MessageHistorySchema, MessageSchema } from "../src/shared/message.schema.ts";
import { api, jsonBody, parsed } from "./helpers/api.ts";
import { addMember } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { createRoom, rawSocket, roomFixture, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, registerUser } from "./helpers/users.ts";

const post = (token: string, roomId: string, body: string) =>
  api(`/v1/rooms/${roomId}/messages`, jsonBody({ body, clientId: crypto.randomUUID() }, bearer(token)));
const get = async <T>(token: string, path: string) => {
  const res = await api(path, bearer(token));
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
};
const patch = (token: string, path: string, body: unknown) =>
  api(path, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("rooms and visibility", () => {
  it("members see public rooms and their private rooms; guests only rooms they were added to", async () => {
    const { owner, org, room, members } = await roomFixture(["member", "guest"]);
    const [member, guest] = members as [typeof owner, typeof owner];
    const priv = await createRoom(owner, org.id, "private", "owners-only");
    type Page = { items: Array<{ id: string }> };
    expect((await get<Page>(member.accessToken, `/v1/orgs/${org.id}/rooms`)).items.map((r) => r.id)).toEqual([
      room.id,
    ]);
    expect(
      (await get<Page>(owner.accessToken, `/v1/orgs/${org.id}/rooms`)).items.map((r) => r.id).sort(),
    ).toEqual([room.id, priv.id].sort());
    expect((await get<Page>(guest.accessToken, `/v1/orgs/${org.id}/rooms`)).items).toEqual([]);
    await expectProblem(await api(`/v1/rooms/${priv.id}`, bearer(member.accessToken)), 404, "not_found");
    await expectProblem(await api(`/v1/rooms/${room.id}`, bearer(guest.accessToken)), 404, "not_found");
    await expectProblem(await post(guest.accessToken, room.id, "hi"), 404, "not_found");
    await expectProblem(
      await api(
        `/v1/orgs/${org.id}/rooms`,
        jsonBody({ name: "g", visibility: "public" }, bearer(guest.accessToken)),
      ),
      403,
      "forbidden",
    );
    // Added to the room, the guest sees it and may post.
    expect(
      (await api(`/v1/rooms/${room.id}/members`, jsonBody({ userId: guest.id }, bearer(owner.accessToken))))
        .status,
    ).toBe(204);
    expect((await get<Page>(guest.accessToken, `/v1/orgs/${org.id}/rooms`)).items.map((r) => r.id)).toEqual([
      room.id,
    ]);
    expect((await post(guest.accessToken, room.id, "hello")).status).toBe(201);
    // A member cannot manage someone else's room.
    await expectProblem(
      await patch(member.accessToken, `/v1/rooms/${room.id}`, { name: "mine" }),
      403,
      "forbidden",
    );
    expect((await patch(owner.accessToken, `/v1/rooms/${room.id}`, { name: "renamed" })).status).toBe(200);
    const stranger = await registerUser();
    await expectProblem(await api(`/v1/rooms/${room.id}`, bearer(stranger.accessToken)), 404, "not_found");
    await expectProblem(
      await api(`/v1/rooms/${room.id}/members`, jsonBody({ userId: stranger.id }, bearer(owner.accessToken))),
      404,
      "not_found",
    );
  });

  it("tracks read positions: lastSeq and unreadCount in the room list, never moving backwards", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const reader = members[0]!;
    for (let i = 0; i < 3; i++) await post(owner.accessToken, room.id, `m${i}`);
    await post(reader.accessToken, room.id, "mine");
    type Page = { items: Array<{ id: string; lastSeq: number; unreadCount: number }> };
    const list = async () => (await get<Page>(reader.accessToken, `/v1/orgs/${org.id}/rooms`)).items[0]!;
    expect(await list()).toMatchObject({ lastSeq: 4, unreadCount: 3 });
    expect(
      (await api(`/v1/rooms/${room.id}/read`, jsonBody({ seq: 2 }, bearer(reader.accessToken)))).status,
    ).toBe(204);
    expect(await list()).toMatchObject({ unreadCount: 1 });
    expect(
      (await api(`/v1/rooms/${room.id}/read`, jsonBody({ seq: 1 }, bearer(reader.accessToken)))).status,
    ).toBe(204);
    expect(await list()).toMatchObject({ unreadCount: 1 });
    await expectProblem(
      await api(`/v1/rooms/${room.id}/read`, jsonBody({ seq: 99 }, bearer(reader.accessToken))),
      400,
      "validation_failed",
    );
  });

  it("closes a member's sockets in the org's rooms when they are removed from the org", async () => {
    const { owner, org, room } = await roomFixture();
    const member = await registerUser();
    await addMember(org.id, member, "member");
    const sock = await rawSocket((await ticketFor(member, `room:${room.id}`)).body.url);
    expect(sock.status).toBe(101);
    expect(
      (
        await api(`/v1/orgs/${org.id}/members/${member.id}`, {
          method: "DELETE",
          ...bearer(owner.accessToken),
        })
      ).status,
    ).toBe(204);
    await until(() => sock.closed() !== undefined, 5000, "socket closed");
    expect(sock.closed()!.code).toBe(4000); // access lost
    await expectProblem(await api(`/v1/rooms/${room.id}`, bearer(member.accessToken)), 404, "not_found");
  });

  it("notifies an existing user of an invitation", async () => {
    const { owner, org } = await roomFixture();
    const invitee = await registerUser();
    const res = await api(
      `/v1/orgs/${org.id}/invitations`,
      jsonBody({ email: invitee.email, role: "member" }, bearer(owner.accessToken)),
    );
    expect(res.status).toBe(201);
    const list = await get<{ items: Array<{ type: string; data: { orgId: string } }> }>(
      invitee.accessToken,
      "/v1/notifications",
    );
    expect(list.items).toEqual([
      expect.objectContaining({ type: "invitation", data: expect.objectContaining({ orgId: org.id }) }),
    ]);
  });
});

describe("messages", () => {
  it("pages history: latest, afterSeq, beforeSeq and both, always ascending", async () => {
    const { owner, room } = await roomFixture();
    for (let i = 1; i <= 7; i++) await post(owner.accessToken, room.id, `m${i}`);
    const h = async (q: string) => {
      const r = MessageHistorySchema.parse(await get(owner.accessToken, `/v1/rooms/${room.id}/messages${q}`));
      return { seqs: r.items.map((m) => m.seq), hasMore: r.hasMore };
    };
    expect(await h("?limit=3")).toEqual({ seqs: [5, 6, 7], hasMore: true });
    expect(await h("")).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7], hasMore: false });
    expect(await h("?afterSeq=2&limit=3")).toEqual({ seqs: [3, 4, 5], hasMore: true });
    expect(await h("?afterSeq=5&limit=3")).toEqual({ seqs: [6, 7], hasMore: false });
    expect(await h("?beforeSeq=5&limit=3")).toEqual({ seqs: [2, 3, 4], hasMore: true });
    expect(await h("?beforeSeq=3&limit=3")).toEqual({ seqs: [1, 2], hasMore: false });
    expect(await h("?afterSeq=1&beforeSeq=6&limit=2")).toEqual({ seqs: [2, 3], hasMore: true });
    expect(await h("?afterSeq=1&beforeSeq=4&limit=5")).toEqual({ seqs: [2, 3], hasMore: false });
    for (const bad of ["?afterSeq=1.0", "?afterSeq=%2B1", "?limit=0", "?limit=101", "?beforeSeq=-1"]) {
      await expectProblem(
        await api(`/v1/rooms/${room.id}/messages${bad}`, bearer(owner.accessToken)),
        400,
        "validation_failed",
      );
    }
  });

  it("edits are author-only; deletes leave a tombstone that cannot be edited; admins may delete others' messages", async () => {
    const { owner, room, members } = await roomFixture(["member", "admin"]);
    const [member, admin] = members as [typeof owner, typeof owner];
    const m = await parsed(await post(member.accessToken, room.id, "original"), MessageSchema);
    await expectProblem(
      await patch(owner.accessToken, `/v1/messages/${m.id}`, { body: "hijack" }),
      403,
      "forbidden",
    );
    const edited = await parsed(
      await patch(member.accessToken, `/v1/messages/${m.id}`, { body: "edited" }),
      MessageSchema,
    );
    expect(edited.body).toBe("edited");
    expect(edited.editedAt).not.toBeNull();
    const other = await parsed(await post(owner.accessToken, room.id, "owner's"), MessageSchema);
    await expectProblem(
      await api(`/v1/messages/${other.id}`, { method: "DELETE", ...bearer(member.accessToken) }),
      403,
      "forbidden",
    );
    expect(
      (await api(`/v1/messages/${m.id}`, { method: "DELETE", ...bearer(admin.accessToken) })).status,
    ).toBe(204);
    await expectProblem(
      await patch(member.accessToken, `/v1/messages/${m.id}`, { body: "again" }),
      409,
      "conflict",
    );
    const hist = MessageHistorySchema.parse(await get(owner.accessToken, `/v1/rooms/${room.id}/messages`));
    expect(hist.items[0]).toMatchObject({ id: m.id, seq: m.seq, body: "", attachments: [] });
    expect(hist.items[0]!.deletedAt).not.toBeNull();
  });

  it("validates bodies and refuses unknown attachments", async () => {
    const { owner, room } = await roomFixture();
    const send = (body: unknown) =>
      api(`/v1/rooms/${room.id}/messages`, jsonBody(body, bearer(owner.accessToken)));
    await expectProblem(await send({ body: "", clientId: crypto.randomUUID() }), 400, "validation_failed");
    await expectProblem(
      await send({ body: "x".repeat(4001), clientId: crypto.randomUUID() }),
      400,
      "validation_failed",
    );
    await expectProblem(await send({ body: "x", clientId: "nope" }), 400, "validation_failed");
    await expectProblem(
      await send({ body: "x", clientId: crypto.randomUUID(), extra: true }),
      400,
      "validation_failed",
    );
    await expectProblem(
      await send({
        body: "x",
        clientId: crypto.randomUUID(),
        attachments: [crypto.randomUUID().replace(/^(.{14})./, "$17")],
      }),
      400,
      "validation_failed",
    );
    expect((await send({ body: "x".repeat(4000), clientId: crypto.randomUUID() })).status).toBe(201);
  });
});
