import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { memberships } from "../src/db/schema.ts";
import { apiWithEnv } from "./helpers/api.ts";
import { authed, testDb } from "./helpers/orgs.ts";
import { createRoom, roomFixture } from "./helpers/realtime.ts";
import { bearer } from "./helpers/users.ts";

/**
 * Room access for message history and posting comes from the read cache
 * (src/services/rooms/room-grant.ts): every change of who may see a room invalidates it, and a
 * cached grant is never older than REVOCATION_SYNC_MS, so even a lost invalidation applies
 * within that bound. Each env below is one "isolate" (its own Redis client and memory tier).
 */
const cost = (res: Response) => Number(/db=(\d+)/.exec(res.headers.get("x-petrel-cost") ?? "")?.[1]);
let isolates = 0;
/** A fresh isolate; REVOCATION_SYNC_MS (the grants' age bound) long unless given. */
const isolate = (over: Record<string, string> = {}) => ({
  REDIS_TIMEOUT_MS: String(3100 + isolates++),
  REVOCATION_SYNC_MS: "60000",
  ...over,
});
const history = (env: Record<string, string>, token: string, roomId: string) =>
  apiWithEnv(env, `/v1/rooms/${roomId}/messages`, bearer(token));
const post = (env: Record<string, string>, token: string, roomId: string, body = "hello") =>
  apiWithEnv(
    env,
    `/v1/rooms/${roomId}/messages`,
    authed(token, "POST", { body, clientId: crypto.randomUUID() }),
  );

describe("cached room access (grants)", () => {
  it("a room read again costs no database round trip: access and the page are both cached", async () => {
    const env = isolate();
    const { room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(env, member.accessToken, room.id)).status).toBe(200);
    const again = await history(env, member.accessToken, room.id);
    expect(again.status).toBe(200);
    expect(again.headers.get("x-cache")).toBe("HIT");
    expect(cost(again)).toBe(0);
  });

  it("a new message costs one database round trip: access cached, the clientId check in the write", async () => {
    const env = isolate();
    const { room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(env, member.accessToken, room.id)).status).toBe(200); // grant cached
    const res = await post(env, member.accessToken, room.id);
    expect(res.status).toBe(201);
    expect(cost(res)).toBe(1);
  });

  it("removal from the org: history and posting answer 404 at once", async () => {
    const env = isolate();
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(env, member.accessToken, room.id)).status).toBe(200);
    expect((await post(env, member.accessToken, room.id)).status).toBe(201);
    const removed = await apiWithEnv(
      env,
      `/v1/orgs/${org.id}/members/${member.id}`,
      authed(owner.accessToken, "DELETE"),
    );
    expect(removed.status).toBe(204);
    expect((await history(env, member.accessToken, room.id)).status).toBe(404);
    expect((await post(env, member.accessToken, room.id)).status).toBe(404);
  });

  it("demotion to guest: a public room it was not added to is 404 at once", async () => {
    const env = isolate();
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(env, member.accessToken, room.id)).status).toBe(200);
    const demoted = await apiWithEnv(
      env,
      `/v1/orgs/${org.id}/members/${member.id}`,
      authed(owner.accessToken, "PATCH", { role: "guest" }),
    );
    expect(demoted.status).toBe(200);
    expect((await history(env, member.accessToken, room.id)).status).toBe(404);
  });

  it("a room made private, and a room member removed: 404 at once", async () => {
    const env = isolate();
    const { owner, org, members } = await roomFixture(["member", "member"]);
    const [outsider, insider] = members as [(typeof members)[0], (typeof members)[0]];
    const room = await createRoom(owner, org.id, "public", "soon-private");
    const add = await apiWithEnv(
      env,
      `/v1/rooms/${room.id}/members`,
      authed(owner.accessToken, "POST", { userId: insider.id }),
    );
    expect(add.status).toBeLessThan(300);
    for (const u of [outsider, insider])
      expect((await history(env, u.accessToken, room.id)).status).toBe(200);

    const made = await apiWithEnv(
      env,
      `/v1/rooms/${room.id}`,
      authed(owner.accessToken, "PATCH", { visibility: "private" }),
    );
    expect(made.status).toBe(200);
    expect((await history(env, outsider.accessToken, room.id)).status).toBe(404);
    expect((await history(env, insider.accessToken, room.id)).status).toBe(200);

    const out = await apiWithEnv(
      env,
      `/v1/rooms/${room.id}/members/${insider.id}`,
      authed(owner.accessToken, "DELETE"),
    );
    expect(out.status).toBe(204);
    expect((await history(env, insider.accessToken, room.id)).status).toBe(404);
  });

  it("org deletion: its rooms' cached grants go with it", async () => {
    const env = isolate();
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(env, member.accessToken, room.id)).status).toBe(200);
    const gone = await apiWithEnv(env, `/v1/orgs/${org.id}`, authed(owner.accessToken, "DELETE"));
    expect(gone.status).toBe(204);
    expect((await history(env, member.accessToken, room.id)).status).toBe(404);
  });

  it("another isolate learns of a removal through Redis (no memory tier there)", async () => {
    const writer = isolate();
    const reader = isolate({ CACHE_MEMORY_ENTRIES: "0" });
    const { owner, org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await history(reader, member.accessToken, room.id)).status).toBe(200);
    expect(cost(await history(reader, member.accessToken, room.id))).toBe(0); // the grant, from Redis
    const removed = await apiWithEnv(
      writer,
      `/v1/orgs/${org.id}/members/${member.id}`,
      authed(owner.accessToken, "DELETE"),
    );
    expect(removed.status).toBe(204);
    expect((await history(reader, member.accessToken, room.id)).status).toBe(404);
  });

  it("a lost invalidation still applies within REVOCATION_SYNC_MS", async () => {
    const BOUND_MS = 3000;
    const env = isolate({ REVOCATION_SYNC_MS: String(BOUND_MS) });
    const { org, room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    const loadedAt = Date.now();
    expect((await history(env, member.accessToken, room.id)).status).toBe(200);
    expect(cost(await history(env, member.accessToken, room.id))).toBe(0); // the grant is cached
    // Removed behind the API's back: nothing invalidates the cached grant.
    await testDb()
      .delete(memberships)
      .where(and(eq(memberships.orgId, org.id), eq(memberships.userId, member.id)));
    const at = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, loadedAt + ms - Date.now())));
    // Past the memory tier's 2 s, before the bound: read from Redis again into the memory tier,
    // which must not keep it past the bound (whatever this read answers on a slow machine).
    await at(BOUND_MS - 600);
    await history(env, member.accessToken, room.id);
    await at(BOUND_MS + 100);
    expect((await history(env, member.accessToken, room.id)).status).toBe(404);
    expect((await post(env, member.accessToken, room.id)).status).toBe(404);
  });

  it("REVOCATION_SYNC_MS=0: grants are not cached, every request reads access from the database", async () => {
    const env = isolate({ REVOCATION_SYNC_MS: "0" });
    const { room, members } = await roomFixture(["member"]);
    const member = members[0]!;
    await history(env, member.accessToken, room.id);
    const again = await history(env, member.accessToken, room.id);
    expect(again.status).toBe(200);
    expect(again.headers.get("x-cache")).toBe("HIT"); // the page is cached; access is not
    // The revocation view is refreshed on every request too (REVOCATION_SYNC_MS=0): 1 + 1.
    expect(cost(again)).toBe(2);
  });
});

describe("cached org role for the room list", () => {
  const rooms = (env: Record<string, string>, token: string, orgId: string) =>
    apiWithEnv(env, `/v1/orgs/${orgId}/rooms`, bearer(token));

  it("read again, the room list costs no database round trip", async () => {
    const env = isolate();
    const { org, members } = await roomFixture(["member"]);
    const member = members[0]!;
    expect((await rooms(env, member.accessToken, org.id)).status).toBe(200);
    const again = await rooms(env, member.accessToken, org.id);
    expect(again.status).toBe(200);
    expect(cost(again)).toBe(0);
  });

  it("demotion to guest applies at once (the list shrinks), removal too (404)", async () => {
    const env = isolate();
    const { owner, org, members } = await roomFixture(["member"]);
    const member = members[0]!;
    const before = (await (await rooms(env, member.accessToken, org.id)).json()) as { items: unknown[] };
    expect(before.items).toHaveLength(1); // the fixture's public room
    const demoted = await apiWithEnv(
      env,
      `/v1/orgs/${org.id}/members/${member.id}`,
      authed(owner.accessToken, "PATCH", { role: "guest" }),
    );
    expect(demoted.status).toBe(200);
    const after = (await (await rooms(env, member.accessToken, org.id)).json()) as { items: unknown[] };
    expect(after.items).toHaveLength(0); // guests see only rooms they were added to
    const removed = await apiWithEnv(
      env,
      `/v1/orgs/${org.id}/members/${member.id}`,
      authed(owner.accessToken, "DELETE"),
    );
    expect(removed.status).toBe(204);
    expect((await rooms(env, member.accessToken, org.id)).status).toBe(404);
  });

  it("joining applies at once: not being a member is never cached", async () => {
    const env = isolate();
    const { org } = await roomFixture();
    const { members } = await roomFixture(["member"]);
    const newcomer = members[0]!;
    expect((await rooms(env, newcomer.accessToken, org.id)).status).toBe(404);
    await testDb().insert(memberships).values({ orgId: org.id, userId: newcomer.id, role: "member" });
    expect((await rooms(env, newcomer.accessToken, org.id)).status).toBe(200);
  });
});
