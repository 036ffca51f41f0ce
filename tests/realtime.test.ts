import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { api, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { connectRoom, createRoom, rawSocket, roomFixture, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, registerUser } from "./helpers/users.ts";

const bindings = env as unknown as Record<string, string>;
const [signingJwk] = JSON.parse(bindings.JWT_PRIVATE_KEYS!) as JWK[];

async function forgeTicket(claims: Record<string, unknown>, jwk: JWK = signingJwk!, expSeconds = 30) {
  const key = (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: "EdDSA", kid: signingJwk!.kid, typ: "rt+jwt" })
    .setIssuer(bindings.JWT_ISSUER!)
    .setAudience("petrel-realtime")
    .setIssuedAt(now - 10)
    .setExpirationTime(now + expSeconds)
    .sign(key);
}

const post = (token: string, roomId: string, body: string, clientId = crypto.randomUUID()) =>
  api(`/v1/rooms/${roomId}/messages`, jsonBody({ body, clientId }, bearer(token)));

describe("realtime tickets", () => {
  it("issues a ticket with a complete URL, and the socket opens with it", async () => {
    const { owner, room } = await roomFixture();
    const { status, body } = await ticketFor(owner, `room:${room.id}`);
    expect(status).toBe(200);
    expect(body.url).toContain(`/parties/chat/${room.id}?ticket=`);
    expect(body).toMatchObject({ party: "chat", room: room.id });
    const sock = await rawSocket(body.url);
    expect(sock.status).toBe(101);
    await until(() => (sock.frames?.length ?? 0) > 0, 5000, "welcome");
    expect(sock.frames![0]).toMatchObject({ type: "welcome", userId: owner.id, presence: [owner.id] });
    sock.ws!.close();
  });

  it("refuses a room the caller cannot see (404 at the ticket)", async () => {
    const { room } = await roomFixture();
    const stranger = await registerUser();
    await expectProblem(
      await api(
        "/v1/realtime/tickets",
        jsonBody({ channel: `room:${room.id}` }, bearer(stranger.accessToken)),
      ),
      404,
      "not_found",
    );
    await expectProblem(
      await api("/v1/realtime/tickets", jsonBody({ channel: "room:nope" }, bearer(stranger.accessToken))),
      400,
      "validation_failed",
    );
  });

  it("rejects missing, expired, wrong-channel, wrong-signature and someone else's user tickets before the socket opens", async () => {
    const { owner, room } = await roomFixture();
    const other = await registerUser();
    const good = (await ticketFor(owner, `room:${room.id}`)).body;
    const base = good.url.split("?")[0]!;
    const userBase = base.replace(`/parties/chat/${room.id}`, `/parties/notifications/${owner.id}`);
    const otherRoom = await createRoom(owner, room.orgId, "public", "other");

    expect((await rawSocket(base)).status).toBe(401); // missing
    const expired = await forgeTicket({ sub: owner.id, ch: `room:${room.id}` }, signingJwk, -5);
    expect((await rawSocket(`${base}?ticket=${expired}`)).status).toBe(401);
    const wrongRoom = (await ticketFor(owner, `room:${otherRoom.id}`)).body.ticket;
    expect((await rawSocket(`${base}?ticket=${wrongRoom}`)).status).toBe(403);
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const foreign = await forgeTicket(
      { sub: owner.id, ch: `room:${room.id}` },
      { ...(await exportJWK(privateKey)), kid: signingJwk!.kid },
    );
    expect((await rawSocket(`${base}?ticket=${foreign}`)).status).toBe(401);
    const othersUserTicket = (await ticketFor(other, "user")).body.ticket;
    expect((await rawSocket(`${userBase}?ticket=${othersUserTicket}`)).status).toBe(403);
    const mine = (await ticketFor(owner, "user")).body;
    expect(mine.url).toContain(`/parties/notifications/${owner.id}?`);
    const ok = await rawSocket(mine.url);
    expect(ok.status).toBe(101);
    ok.ws!.close();
  });
});

describe("chat party", () => {
  it("two clients see each other's messages, acks, presence and typing", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const bob = members[0]!;
    const a = await connectRoom(owner, room.id);
    await until(() => a.client.state === "live", 10_000, "a live");
    const b = await connectRoom(bob, room.id);
    await until(() => b.client.state === "live", 10_000, "b live");
    await until(() => a.presence.some((p) => p.length === 2), 5000, "presence of two");
    expect(a.presence.at(-1)!.sort()).toEqual([owner.id, bob.id].sort());

    const ack = await a.client.send("hello from a");
    expect(ack.seq).toBe(1);
    await until(() => b.messages.length === 1, 5000, "b receives");
    expect(b.messages[0]).toMatchObject({ body: "hello from a", authorId: owner.id, seq: 1, id: ack.id });
    await b.client.send("hi a");
    await until(() => a.messages.length === 2, 5000, "a receives both");
    expect(a.messages.map((m) => m.seq)).toEqual([1, 2]);

    b.client.typing();
    await until(() => a.typing.includes(bob.id), 5000, "typing");
    b.client.close();
    await until(() => a.presence.at(-1)?.length === 1, 5000, "bob leaves");
    a.client.close();
  });

  it("broadcasts a REST-posted message, edit and delete", async () => {
    const { owner, room } = await roomFixture();
    const a = await connectRoom(owner, room.id);
    await until(() => a.client.state === "live");
    const res = await post(owner.accessToken, room.id, "via REST");
    expect(res.status).toBe(201);
    const m = (await res.json()) as { id: string };
    await until(() => a.messages.length === 1, 5000, "broadcast");
    await api(`/v1/messages/${m.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${owner.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ body: "edited" }),
    });
    await until(() => a.updates.length === 1, 5000, "edit broadcast");
    expect(a.updates[0]).toMatchObject({ id: m.id, body: "edited", seq: 1 });
    expect(
      (await api(`/v1/messages/${m.id}`, { method: "DELETE", ...bearer(owner.accessToken) })).status,
    ).toBe(204);
    await until(() => a.updates.length === 2, 5000, "delete broadcast");
    expect(a.updates[1]).toMatchObject({ id: m.id, body: "", attachments: [], seq: 1 });
    expect(a.updates[1]!.deletedAt).not.toBeNull();
    a.client.close();
  });

  it("20 concurrent posts get seq 1..20 with no gap or duplicate", async () => {
    const { owner, room } = await roomFixture();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(owner.accessToken, room.id, `n${i}`)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const seqs = (await Promise.all(results.map((r) => r.json() as Promise<{ seq: number }>)))
      .map((m) => m.seq)
      .sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("a client that disconnects while 5 messages are posted receives exactly those 5 on reconnect", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const first = await connectRoom(owner, room.id);
    await until(() => first.client.state === "live");
    await first.client.send("before");
    await until(() => first.messages.length === 1);
    const seen = first.client.seq;
    first.client.close();
    for (let i = 0; i < 5; i++)
      expect((await post(members[0]!.accessToken, room.id, `while away ${i}`)).status).toBe(201);
    const again = await connectRoom(owner, room.id, { lastSeq: seen });
    await until(() => again.client.state === "live" && again.messages.length >= 5, 10_000, "catch-up");
    // A marker posted after the catch-up arrives after anything the room sends before it, so a
    // duplicate of the five would be in the list by the time the marker is.
    expect((await post(members[0]!.accessToken, room.id, "marker")).status).toBe(201);
    await until(() => again.messages.some((m) => m.body === "marker"), 10_000, "the marker");
    const bodies = [0, 1, 2, 3, 4].map((i) => `while away ${i}`);
    expect(again.messages.map((m) => m.body)).toEqual([...bodies, "marker"]);
    expect(again.messages.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    again.client.close();
  });

  it("a resent clientId produces one message (socket and REST)", async () => {
    const { owner, room } = await roomFixture();
    const a = await connectRoom(owner, room.id);
    await until(() => a.client.state === "live");
    const clientId = crypto.randomUUID();
    const [x, y] = await Promise.all([
      a.client.send("once", { clientId }),
      a.client.send("once", { clientId }),
    ]);
    expect(x.id).toBe(y.id);
    const again = await post(owner.accessToken, room.id, "once", clientId);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(x.id);
    await expectProblem(await post(owner.accessToken, room.id, "different body", clientId), 409, "conflict");
    const history = (await (
      await api(`/v1/rooms/${room.id}/messages`, bearer(owner.accessToken))
    ).json()) as { items: unknown[] };
    expect(history.items).toHaveLength(1);
    a.client.close();
  });

  it("answers malformed JSON and invalid frames with an error frame and keeps the socket open", async () => {
    const { owner, room } = await roomFixture();
    const sock = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    await until(() => sock.frames!.length > 0);
    sock.ws!.send("{not json");
    sock.ws!.send(JSON.stringify({ type: "shout" }));
    sock.ws!.send(JSON.stringify({ type: "message", clientId: "not-a-uuid", body: "x" }));
    await until(
      () => sock.frames!.filter((f) => f.type === "error").length === 3,
      5000,
      "three error frames",
    );
    expect(sock.frames!.filter((f) => f.type === "error").map((f) => (f as { code: string }).code)).toEqual([
      "malformed_frame",
      "invalid_frame",
      "invalid_frame",
    ]);
    sock.ws!.send(JSON.stringify({ type: "message", clientId: crypto.randomUUID(), body: "still open" }));
    await until(() => sock.frames!.some((f) => f.type === "ack"), 5000, "ack after errors");
    expect(sock.closed()).toBeUndefined();
    sock.ws!.close();
  });

  it("closes the socket with 1009 on a frame over 16 KiB and with 1008 on a flood", async () => {
    const { owner, room } = await roomFixture();
    const big = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    big.ws!.send("x".repeat(16 * 1024 + 1));
    await until(() => big.closed() !== undefined, 5000, "close after big frame");
    expect(big.closed()!.code).toBe(1009);
    const flood = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    for (let i = 0; i < 45; i++) flood.ws!.send(JSON.stringify({ type: "typing" }));
    await until(() => flood.closed() !== undefined, 5000, "close after flood");
    expect(flood.closed()!.code).toBe(1008);
  });

  it("closes a removed member's socket", async () => {
    const { owner, org } = await roomFixture();
    const priv = await createRoom(owner, org.id, "private", "secret");
    const { addMember } = await import("./helpers/orgs.ts");
    const member = await registerUser();
    await addMember(org.id, member, "member");
    expect(
      (await api(`/v1/rooms/${priv.id}/members`, jsonBody({ userId: member.id }, bearer(owner.accessToken))))
        .status,
    ).toBe(204);
    const sock = await rawSocket((await ticketFor(member, `room:${priv.id}`)).body.url);
    expect(sock.status).toBe(101);
    expect(
      (
        await api(`/v1/rooms/${priv.id}/members/${member.id}`, {
          method: "DELETE",
          ...bearer(owner.accessToken),
        })
      ).status,
    ).toBe(204);
    await until(() => sock.closed() !== undefined, 5000, "removed member's socket closed");
    expect(sock.closed()!.code).toBe(4000); // access lost
  });

  it("closes the sockets of a revoked session within seconds", async () => {
    const { owner, room } = await roomFixture();
    const sock = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    expect(sock.status).toBe(101);
    expect((await api("/v1/auth/logout", { method: "POST", ...bearer(owner.accessToken) })).status).toBe(204);
    await until(() => sock.closed() !== undefined, 8000, "revoked session's socket closed");
    expect(sock.closed()).toMatchObject({ code: 1008, reason: "session revoked" });
  });
});

describe("notifications", () => {
  it("a mention notifies the mentioned room member on their user channel and in the list", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const bob = members[0]!;
    const sock = await rawSocket((await ticketFor(bob, "user")).body.url);
    await until(() => sock.frames!.length > 0);
    expect((await post(owner.accessToken, room.id, `hey @${bob.handle}, look`)).status).toBe(201);
    await until(() => sock.frames!.some((f) => f.type === "notification"), 5000, "notification frame");
    const list = (await (await api("/v1/notifications?unread=true", bearer(bob.accessToken))).json()) as {
      items: Array<{ id: string; type: string; data: { roomId: string } }>;
    };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ type: "mention", data: { roomId: room.id } });
    expect(
      (
        await api(`/v1/notifications/${list.items[0]!.id}/read`, {
          method: "POST",
          ...bearer(bob.accessToken),
        })
      ).status,
    ).toBe(204);
    const after = (await (await api("/v1/notifications?unread=true", bearer(bob.accessToken))).json()) as {
      items: unknown[];
    };
    expect(after.items).toHaveLength(0);
    // No self-notification, and no notification for a handle that is not in the org.
    const outsider = await registerUser();
    expect((await post(owner.accessToken, room.id, `@${owner.handle} @${outsider.handle}`)).status).toBe(201);
    const ownerList = (await (await api("/v1/notifications", bearer(owner.accessToken))).json()) as {
      items: unknown[];
    };
    const outsiderList = (await (await api("/v1/notifications", bearer(outsider.accessToken))).json()) as {
      items: unknown[];
    };
    expect(ownerList.items).toHaveLength(0);
    expect(outsiderList.items).toHaveLength(0);
    sock.ws!.close();
  });
});

describe("chat party ordering", () => {
  it("stores one connection's burst of messages in the order they were sent", async () => {
    const { owner, room } = await roomFixture();
    const a = await connectRoom(owner, room.id);
    await until(() => a.client.state === "live");
    const acks = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => a.client.send(`burst ${i}`)));
    expect(acks.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    a.client.close();
  });
});
