import { afterEach, describe, expect, it } from "vitest";
import { RawClient, registerUser, roomWith, until } from "./lib.ts";

/**
 * Backpressure (party/lifecycle.ts): a socket that stops reading falls behind its read-acks and
 * is closed with 4001 while the others keep receiving; it resumes with `sync {afterSeq}`. The
 * stack's bound is 20 unacknowledged messages (tests/setup/node-stack.ts).
 */
const open: RawClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe("slow consumers", () => {
  it("a paused reader is closed with 4001, the others get every message, and sync recovers it", async () => {
    const [ada, bob] = await Promise.all(["ada", "bob"].map(registerUser));
    const roomId = await roomWith(ada!, [bob!]);
    const reader = await RawClient.open(ada!, roomId);
    const sender = await RawClient.open(bob!, roomId);
    open.push(reader, sender);
    reader.pause(); // stops reading; its heartbeat timer goes on, acknowledging nothing new
    // The sender keeps up: it sends in rounds of 10 and reads each round before the next. A
    // burst larger than the bound would be stored by one group commit and broadcast before the
    // sender's own read-acks (queued behind its messages) were read, so even a reader that keeps
    // up would be cut; real bounds (MAX_UNACKED_MESSAGES 1000) are far above a group (32).
    for (let round = 0; round < 4; round++) {
      for (let i = 1; i <= 10; i++)
        sender.send({ type: "message", clientId: crypto.randomUUID(), body: `m${round * 10 + i}` });
      await until(() => sender.seqs().length === (round + 1) * 10, 30_000, "the sender's room goes on");
    }
    const all = Array.from({ length: 40 }, (_, i) => i + 1);
    expect(sender.seqs()).toEqual(all);
    expect(sender.closed).toBeUndefined();

    reader.resume();
    await until(() => reader.closed !== undefined, 10_000, "the reader's close");
    expect(reader.closed!.code).toBe(4001);
    const got = reader.seqs();
    expect(got).toEqual(all.slice(0, got.length)); // what it did get: in order, no duplicate
    expect(got.length).toBeLessThan(40);

    const again = await RawClient.open(ada!, roomId);
    open.push(again);
    again.send({ type: "sync", afterSeq: got.at(-1) ?? 0 });
    await until(() => got.length + again.seqs().length === 40, 10_000, "the rest by sync");
    expect([...got, ...again.seqs()]).toEqual(all);
  });
});
