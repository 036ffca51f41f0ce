import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { withFault } from "./helpers/api.ts";
import { messageSeqs, partyPost, rawRoomSocket, roomFixture, until } from "./helpers/realtime.ts";

/**
 * Hibernation (party/room-life.ts): a room's instance may be evicted and rebuilt at any moment
 * between events, so everything it needs lives in connection state and room storage. These run
 * on the fault party (tests/setup/global-setup.ts), whose alarms are far enough apart for workerd
 * to evict an idle room, and assert on the raw frames the server sent.
 */
const party = () => inject("faultPartyUrl");
const token = (env as unknown as Record<string, string>).SERVICE_TOKEN!;
type Sock = Awaited<ReturnType<typeof rawRoomSocket>>;
const framesOf = (s: Sock, type: string) => s.raw.filter((f) => f.type === type);
const acks = (s: Sock) => framesOf(s, "ack").map((f) => f.seq as number);
const diffs = (s: Sock) => framesOf(s, "presence_diff").map((f) => ({ joined: f.joined, left: f.left }));

async function twoInARoom() {
  const fx = await roomFixture(["member", "member"]);
  const [bob, carol] = fx.members as [typeof fx.owner, typeof fx.owner];
  const a = await rawRoomSocket(fx.owner, fx.room.id, party());
  const b = await rawRoomSocket(bob, fx.room.id, party());
  await until(() => diffs(a).length === 1, 5000, "a sees bob join");
  return { ...fx, bob, carol, a, b };
}

describe("hibernation", () => {
  it("a room evicted while idle comes back with seq order, presence and identity intact", async () => {
    await withFault("fault-partykit", async () => {
      const { owner, bob, carol, room, a, b } = await twoInARoom();
      expect(a.raw[0]).toMatchObject({ type: "welcome", userId: owner.id, presence: [owner.id], lastSeq: 0 });
      expect(b.raw[0]).toMatchObject({ type: "welcome", userId: bob.id, lastSeq: 0 });
      expect((b.raw[0]!.presence as string[]).sort()).toEqual([owner.id, bob.id].sort());
      a.send({ type: "message", clientId: crypto.randomUUID(), body: "before" });
      await until(() => messageSeqs(b.raw).length === 1, 5000, "the first message");
      const before = await partyPost(party(), room.id, token, { debug: "instance" });

      // No frame and no alarm for longer than workerd's idle eviction (~10 s).
      await new Promise((r) => setTimeout(r, 15_000));
      b.send({ type: "message", clientId: crypto.randomUUID(), body: "after" });
      await until(() => messageSeqs(a.raw).length === 2 && acks(b).length === 1, 10_000, "after eviction");
      const after = await partyPost(party(), room.id, token, { debug: "instance" });
      expect(after.instance).not.toBe(before.instance); // a new instance: the old one was evicted

      const last = a.raw.filter((f) => f.type === "message").at(-1)!.message;
      expect(last).toMatchObject({ seq: 2, body: "after", authorId: bob.id }); // identity from state
      expect(acks(b)).toEqual([2]);
      const c = await rawRoomSocket(carol, room.id, party());
      expect(c.raw[0]).toMatchObject({ type: "welcome", userId: carol.id, lastSeq: 2 });
      expect(c.raw[0]!.presence).toEqual([owner.id, bob.id, carol.id].sort());
      await until(() => diffs(a).length === 2 && diffs(b).length === 1, 5000, "carol joins");
      expect(diffs(b)).toEqual([{ joined: [carol.id], left: [] }]);
      b.ws.close();
      await until(() => diffs(a).length === 3 && diffs(c).length === 1, 5000, "bob leaves");
      expect(diffs(c)).toEqual([{ joined: [], left: [bob.id] }]);
      for (const s of [a, b]) expect(messageSeqs(s.raw)).toEqual([1, 2]);
      expect([a, b, c].flatMap((s) => framesOf(s, "presence"))).toEqual([]);
      a.ws.close();
      c.ws.close();
    });
  }, 60_000);

  it("a rebuild over live sockets keeps a message held for an earlier seq, and sends it once, in order", async () => {
    await withFault("fault-partykit", async () => {
      const { room, a, b } = await twoInARoom();
      a.send({ type: "message", clientId: crypto.randomUUID(), body: "one" });
      await until(() => messageSeqs(b.raw).length === 1, 5000, "seq 1");
      const first = a.raw.find((f) => f.type === "message")!.message as Record<string, unknown>;
      const synthetic = (seq: number) => ({
        ...first,
        id: crypto.randomUUID(),
        clientId: crypto.randomUUID(),
        seq,
        body: `pushed ${seq}`,
      });
      await partyPost(party(), room.id, token, { push: { type: "message", message: synthetic(3) } });
      const rebuilt = await partyPost(party(), room.id, token, { debug: "rebuild" });
      expect(rebuilt.rebuilds).toBeGreaterThanOrEqual(1);
      expect(messageSeqs(a.raw)).toEqual([1]); // 3 waits for 2, across the rebuild
      await partyPost(party(), room.id, token, { push: { type: "message", message: synthetic(2) } });
      await until(() => messageSeqs(b.raw).length === 3, 5000, "2 and 3");
      await new Promise((r) => setTimeout(r, 6000)); // past the hold time: nothing is sent twice
      for (const s of [a, b]) expect(messageSeqs(s.raw)).toEqual([1, 2, 3]);
      a.ws.close();
      b.ws.close();
    });
  }, 60_000);

  it("a rebuild while socket messages are in flight loses and repeats none of them", async () => {
    await withFault("fault-partykit", async () => {
      const { owner, bob, carol, room, a, b } = await twoInARoom();
      for (let i = 1; i <= 10; i++) a.send({ type: "message", clientId: crypto.randomUUID(), body: `m${i}` });
      const rebuilt = await partyPost(party(), room.id, token, { debug: "rebuild" });
      const ackedBefore = acks(a).length;
      expect(rebuilt.rebuilds).toBeGreaterThanOrEqual(1);
      await until(() => acks(a).length === 10 && messageSeqs(b.raw).length === 10, 15_000, "all ten");
      expect(ackedBefore).toBeLessThan(10); // the rebuild did land while messages were in flight
      const ten = Array.from({ length: 10 }, (_, i) => i + 1);
      expect(acks(a)).toEqual(ten);
      for (const s of [a, b]) expect(messageSeqs(s.raw)).toEqual(ten);

      b.send({ type: "message", clientId: crypto.randomUUID(), body: "from bob" });
      await until(() => messageSeqs(a.raw).length === 11, 5000, "bob's message");
      expect(a.raw.filter((f) => f.type === "message").at(-1)!.message).toMatchObject({
        seq: 11,
        authorId: bob.id,
      });
      const c = await rawRoomSocket(carol, room.id, party());
      expect(c.raw[0]!.presence).toEqual([owner.id, bob.id, carol.id].sort());
      await until(() => diffs(a).length === 2, 5000, "carol joins");
      expect(diffs(a)).toEqual([
        { joined: [bob.id], left: [] },
        { joined: [carol.id], left: [] },
      ]);
      for (const s of [a, b, c]) s.ws.close();
    });
  }, 60_000);
});
