import { describe, expect, inject, it } from "vitest";
import { processLocks } from "../client/leader.ts";
import { Outbox } from "../client/outbox.ts";
import { LiveRoom, type LiveRoomEvents, type RoomState } from "../client/room.ts";
import { memoryStorage } from "../client/storage.ts";
import { createUpstashStore } from "../src/adapters/kv.ts";
import { api, BASE } from "./helpers/api.ts";
import { apiFetch, roomFixture, until } from "./helpers/realtime.ts";
import { bearer, type TestUser } from "./helpers/users.ts";

/**
 * The SDK's LiveRoom sending its outbox through the real partykit dev: paced under the party's
 * frame limit, in order, once each; `rate_limited` waits and sends again; a refusal is kept as
 * failed and does not hold up the next. What counts is the room's history as the API stores it.
 */
async function stored(user: TestUser, roomId: string) {
  const res = await api(`/v1/rooms/${roomId}/messages?afterSeq=0&limit=100`, bearer(user.accessToken));
  return ((await res.json()) as { items: Array<{ body: string; clientId: string }> }).items;
}

async function open(user: TestUser, roomId: string, storage = memoryStorage()) {
  const room = await LiveRoom.open({
    session: { baseUrl: BASE, accessToken: () => user.accessToken, fetch: apiFetch, user: { id: user.id } },
    roomId,
    storage,
    locks: processLocks(),
  });
  const seen: { states: RoomState[]; retrying: Array<LiveRoomEvents["retrying"]> } = {
    states: [],
    retrying: [],
  };
  room.on("status", (s) => seen.states.push(s.state));
  room.on("retrying", (r) => seen.retrying.push(r));
  return { room, seen };
}

describe("LiveRoom sends its outbox", () => {
  it("a long outbox goes out in order, once each, without tripping the flood close", {
    timeout: 90_000,
  }, async () => {
    const { owner, room: r } = await roomFixture();
    const storage = memoryStorage();
    // Written before the room opens (offline, or in an earlier run): more than the party's 40 frames/s.
    const box = new Outbox({ storage, userId: owner.id, roomId: r.id });
    const written = [];
    for (let i = 0; i < 60; i++) written.push(await box.add(`queued ${i}`));
    box.close();
    const { room, seen } = await open(owner, r.id, storage);
    await until(
      () => room.current.state === "live" && room.current.pending === 0,
      80_000,
      "the outbox to drain",
    );
    const items = await stored(owner, r.id);
    expect(items.map((m) => m.body)).toEqual(written.map((e) => e.body));
    expect(items.map((m) => m.clientId)).toEqual(written.map((e) => e.clientId));
    // Never dropped (a 1008 close would have shown as offline) and never retried.
    expect(seen.states).not.toContain("offline");
    expect(seen.retrying).toEqual([]);
    room.close();
  });

  it("rate_limited waits retryAfter and sends again; a refused one is kept as failed and the next goes on", {
    timeout: 60_000,
  }, async () => {
    const { owner, room: r } = await roomFixture();
    const { room, seen } = await open(owner, r.id);
    await until(() => room.current.state === "live", 20_000, "live");
    // The per-user budget (shared by REST and sockets) spent for the next 2 s.
    const redis = createUpstashStore(inject("upstashUrl"), inject("upstashToken"), 3000).redis!;
    await redis.set(`rl:api:user:${owner.id}`, Number(inject("bindings").API_RATE_LIMIT), { px: 2000 });
    const a = await room.send("first, over the budget");
    const bad = await room.send("lone \ud800 surrogate");
    const c = await room.send("third");
    await until(
      () => room.current.pending === 0 && room.current.failed === 1,
      40_000,
      "a and c sent, bad refused",
    );
    expect((await stored(owner, r.id)).map((m) => m.body)).toEqual(["first, over the budget", "third"]);
    expect(seen.retrying.map((x) => [x.clientId, x.code])).toContainEqual([a.clientId, "rate_limited"]);
    expect(seen.retrying.every((x) => x.inMs >= 1000)).toBe(true);
    const failed = room.pending;
    expect(failed.map((e) => [e.clientId, e.state, e.error?.code])).toEqual([
      [bad.clientId, "failed", "validation_failed"],
    ]);
    expect(room.pending.some((e) => e.clientId === c.clientId)).toBe(false);
    // Discarded: gone from the outbox, never sent.
    await room.discard(bad.clientId);
    await until(() => room.pending.length === 0, 5000, "discarded");
    expect(room.current.state).toBe("live");
    room.close();
  });
});
