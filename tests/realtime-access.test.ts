import { describe, expect, inject, it } from "vitest";
import { createUpstashStore } from "../src/adapters/kv.ts";
import { api, apiWithEnv, jsonBody } from "./helpers/api.ts";
import { authed } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { connectRoom, createRoom, rawSocket, roomFixture, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, type TestUser } from "./helpers/users.ts";

/**
 * Who may read a room over an open socket, and how much one user may send through sockets.
 * Raw sockets: the assertions are on the frames and close codes the party sent.
 */
const ACCESS_LOST = 4000;
const TOO_MANY_SOCKETS = 4002;
const ROOM_DELETED = 4003;

/** An API whose pushes to PartyKit fail: PartyKit "briefly unreachable". */
const PARTY_DOWN = { PARTYKIT_URL: "http://127.0.0.1:1" };

async function openSocket(user: TestUser, roomId: string) {
  const sock = await rawSocket((await ticketFor(user, `room:${roomId}`)).body.url);
  expect(sock.status).toBe(101);
  await until(() => sock.frames.some((f) => f.type === "welcome"), 5000, "welcome");
  return sock;
}

const setRole = (
  owner: TestUser,
  orgId: string,
  userId: string,
  role: string,
  env?: Record<string, string>,
) =>
  env
    ? apiWithEnv(env, `/v1/orgs/${orgId}/members/${userId}`, authed(owner.accessToken, "PATCH", { role }))
    : api(`/v1/orgs/${orgId}/members/${userId}`, authed(owner.accessToken, "PATCH", { role }));

const postRest = (user: TestUser, roomId: string, body: string) =>
  api(
    `/v1/rooms/${roomId}/messages`,
    jsonBody({ body, clientId: crypto.randomUUID() }, bearer(user.accessToken)),
  );

describe("losing access closes open sockets", () => {
  it("sync after a demotion the party never heard of: no history, the socket closes with 4000", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await postRest(owner, room.id, "members only")).status).toBe(201);
    const sock = await openSocket(member, room.id);
    // Guests see only rooms they were added to; the push about it does not reach PartyKit.
    expect((await setRole(owner, org.id, member.id, "guest", PARTY_DOWN)).status).toBe(200);
    sock.ws!.send(JSON.stringify({ type: "sync", afterSeq: 0 }));
    await until(() => sock.closed() !== undefined, 5000, "socket closed");
    expect(sock.closed()!.code).toBe(ACCESS_LOST);
    expect(sock.raw.filter((f) => f.type === "history")).toEqual([]);
  });

  it("a demotion to guest closes that user's sockets in the org's rooms, and nobody else's", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    const other = await createRoom(owner, org.id, "public", "other");
    const [inRoom, inOther, owners] = await Promise.all([
      openSocket(member, room.id),
      openSocket(member, other.id),
      openSocket(owner, room.id),
    ]);
    expect((await setRole(owner, org.id, member.id, "guest")).status).toBe(200);
    await until(() => inRoom.closed() !== undefined && inOther.closed() !== undefined, 5000, "closed");
    expect([inRoom.closed()!.code, inOther.closed()!.code]).toEqual([ACCESS_LOST, ACCESS_LOST]);
    expect(owners.closed()).toBeUndefined();
    owners.ws!.close();
  });

  it("making a room private closes the sockets of those who may no longer see it (4000)", async () => {
    const { owner, room, members } = await roomFixture(["member", "member"]);
    const [outsider, insider] = members as [TestUser, TestUser];
    const add = jsonBody({ userId: insider.id }, bearer(owner.accessToken));
    expect((await api(`/v1/rooms/${room.id}/members`, add)).status).toBe(204);
    const [out, inside, owners] = await Promise.all([
      openSocket(outsider, room.id),
      openSocket(insider, room.id),
      openSocket(owner, room.id),
    ]);
    const patch = authed(owner.accessToken, "PATCH", { visibility: "private" });
    expect((await api(`/v1/rooms/${room.id}`, patch)).status).toBe(200);
    await until(() => out.closed() !== undefined, 5000, "the outsider's socket closed");
    expect(out.closed()!.code).toBe(ACCESS_LOST);
    // The room's members (its creator included) keep reading: a marker still reaches them.
    expect((await postRest(owner, room.id, "marker")).status).toBe(201);
    await until(() => inside.frames.some((f) => f.type === "message"), 5000, "marker to the member");
    expect(inside.closed()).toBeUndefined();
    expect(owners.closed()).toBeUndefined();
    inside.ws!.close();
    owners.ws!.close();
  });

  it("a push missed while PartyKit was unreachable is caught by the periodic re-check (4000)", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    const sock = await openSocket(member, room.id);
    const owners = await openSocket(owner, room.id);
    expect((await setRole(owner, org.id, member.id, "guest", PARTY_DOWN)).status).toBe(200);
    // ACCESS_RECHECK_SECONDS is 10 in the test setup (3 s ticks).
    await until(() => sock.closed() !== undefined, 25_000, "closed by the periodic re-check");
    expect(sock.closed()!.code).toBe(ACCESS_LOST);
    expect(owners.closed()).toBeUndefined();
    owners.ws!.close();
  }, 40_000);

  it("deleting a room closes every socket in it with 4003", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const socks = await Promise.all([openSocket(owner, room.id), openSocket(members[0]!, room.id)]);
    expect(
      (await api(`/v1/rooms/${room.id}`, { method: "DELETE", ...bearer(owner.accessToken) })).status,
    ).toBe(204);
    await until(() => socks.every((s) => s.closed() !== undefined), 5000, "all closed");
    expect(socks.map((s) => s.closed()!.code)).toEqual([ROOM_DELETED, ROOM_DELETED]);
  });
});

describe("the client helper on these close codes", () => {
  it("stops for good on 4003, and on 4000 once the new ticket is refused (404)", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = await connectRoom(members[0]!, room.id);
    await until(() => member.client.state === "live", 10_000, "member live");
    expect((await setRole(owner, org.id, members[0]!.id, "guest")).status).toBe(200);
    await until(() => member.client.state === "closed", 10_000, "member stopped after the 404 ticket");
    const own = await connectRoom(owner, room.id);
    await until(() => own.client.state === "live", 10_000, "owner live");
    expect(
      (await api(`/v1/rooms/${room.id}`, { method: "DELETE", ...bearer(owner.accessToken) })).status,
    ).toBe(204);
    await until(() => own.client.state === "closed", 5000, "owner stopped after 4003");
    await new Promise((r) => setTimeout(r, 1000));
    expect([member.states.at(-1), own.states.at(-1)]).toEqual(["closed", "closed"]);
    expect(own.states.filter((s) => s === "reconnecting")).toEqual([]);
  });
});

describe("socket limits per user", () => {
  it("caps a user's sockets in one room: the sixth closes with 4002 before any welcome", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const five = await Promise.all(Array.from({ length: 5 }, () => openSocket(owner, room.id)));
    const sixth = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    expect(sixth.status).toBe(101);
    await until(() => sixth.closed() !== undefined, 5000, "the sixth socket closed");
    expect(sixth.closed()!.code).toBe(TOO_MANY_SOCKETS);
    expect(sixth.raw.filter((f) => f.type === "welcome")).toEqual([]);
    // Another user is not affected, and the first five stay open.
    const other = await openSocket(members[0]!, room.id);
    expect(five.map((s) => s.closed())).toEqual(Array(5).fill(undefined));
    for (const s of [...five, other]) s.ws!.close();
  });

  it("socket messages and REST posts share the user's budget: refused with rate_limited, retryAfter and clientId", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const sock = await openSocket(owner, room.id);
    // The per-user API counter (apiLimit: "api", user:<id>) in Redis, spent to the limit.
    const redis = createUpstashStore(inject("upstashUrl"), inject("upstashToken"), 3000).redis!;
    const budget = (u: TestUser) => `rl:api:user:${u.id}`;
    const spend = (u: TestUser) =>
      redis.set(budget(u), Number(inject("bindings").API_RATE_LIMIT), { px: 60_000 });
    await spend(owner);
    const clientId = crypto.randomUUID();
    sock.ws!.send(JSON.stringify({ type: "message", clientId, body: "over the budget" }));
    await until(() => sock.raw.some((f) => f.type === "error"), 5000, "an error frame");
    const error = sock.raw.find((f) => f.type === "error")!;
    expect(error).toMatchObject({ code: "rate_limited", clientId });
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.retryAfter).toBeLessThanOrEqual(60);
    expect(sock.raw.filter((f) => f.type === "ack")).toEqual([]);
    expect(sock.closed()).toBeUndefined();
    // A new window: the next socket message is stored, and counted in that same counter.
    await redis.del(budget(owner));
    sock.ws!.send(JSON.stringify({ type: "message", clientId: crypto.randomUUID(), body: "within it" }));
    await until(() => sock.raw.some((f) => f.type === "ack"), 5000, "ack");
    expect(Number(await redis.get(budget(owner)))).toBe(1);
    // And REST counts in it: a member whose budget is spent gets 429 from the REST route.
    await spend(members[0]!);
    await expectProblem(await postRest(members[0]!, room.id, "over it"), 429, "rate_limited");
    await redis.del(budget(members[0]!));
    sock.ws!.close();
  });

  it("every error frame that answers a message frame carries its clientId", async () => {
    const { owner, room } = await roomFixture();
    const sock = await openSocket(owner, room.id);
    const [invalid, conflicting] = [crypto.randomUUID(), crypto.randomUUID()];
    sock.ws!.send(JSON.stringify({ type: "message", clientId: invalid, body: "" }));
    sock.ws!.send(JSON.stringify({ type: "message", clientId: conflicting, body: "first" }));
    await until(() => sock.raw.some((f) => f.type === "ack"), 5000, "ack");
    sock.ws!.send(JSON.stringify({ type: "message", clientId: conflicting, body: "different" }));
    await until(() => sock.raw.filter((f) => f.type === "error").length === 2, 5000, "two error frames");
    const errors = sock.raw.filter((f) => f.type === "error");
    expect(errors.map((e) => [e.code, e.clientId])).toEqual([
      ["invalid_frame", invalid],
      ["conflict", conflicting],
    ]);
    sock.ws!.close();
  });
});
