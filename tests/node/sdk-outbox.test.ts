import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processLocks } from "../../client/leader.ts";
import { fileStorage } from "../../client/node/file-storage.ts";
import { Outbox } from "../../client/outbox.ts";
import { parseServerFrame } from "../../client/realtime.ts";
import { memoryStorage } from "../../client/storage.ts";

/**
 * The SDK's pieces that need no server: the outbox's order and states, its storage surviving a
 * restart, the lock that lets one flusher run at a time, and the v1.1 frames the client reads.
 * Sending over a real party is covered by the browser tests (tests/e2e/outbox.spec.ts).
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the outbox", () => {
  const scope = { userId: "u1", roomId: "r1" };

  it("keeps entries in writing order, with their clientIds, and only for its user and room", async () => {
    const storage = memoryStorage();
    const box = new Outbox({ storage, ...scope });
    const other = new Outbox({ storage, userId: "u1", roomId: "r2" });
    const written = [];
    for (let i = 0; i < 30; i++) written.push(await box.add(`m${i}`));
    await other.add("elsewhere");
    const listed = await box.list();
    expect(listed.map((e) => e.body)).toEqual(written.map((e) => e.body));
    expect(listed.map((e) => e.clientId)).toEqual(written.map((e) => e.clientId));
    expect(new Set(listed.map((e) => e.order)).size).toBe(30);
    box.close();
    other.close();
  });

  it("a refused entry stays, marked failed, until retried (same place, same clientId) or discarded", async () => {
    const box = new Outbox({ storage: memoryStorage(), ...scope });
    const [a, b, c] = [await box.add("a"), await box.add("b"), await box.add("c")];
    await box.fail(b.clientId, { code: "validation_failed", message: "bad" });
    expect((await box.list()).map((e) => [e.body, e.state, e.error?.code])).toEqual([
      ["a", "queued", undefined],
      ["b", "failed", "validation_failed"],
      ["c", "queued", undefined],
    ]);
    await box.retry(b.clientId);
    expect((await box.list()).map((e) => [e.clientId, e.state])).toEqual([
      [a.clientId, "queued"],
      [b.clientId, "queued"],
      [c.clientId, "queued"],
    ]);
    expect(await box.remove(b.clientId)).toBe(true);
    expect(await box.remove(b.clientId)).toBe(false);
    expect((await box.list()).map((e) => e.body)).toEqual(["a", "c"]);
    box.close();
  });

  it("in a file, survives the process: a new instance reads the same entries in the same order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-sdk-"));
    dirs.push(dir);
    const path = join(dir, "outbox.json");
    const first = new Outbox({ storage: fileStorage(path), ...scope });
    const written = [await first.add("one"), await first.add("two", ["f1"]), await first.add("three")];
    await first.fail(written[1]!.clientId, { code: "forbidden", message: "no" });
    first.close();
    const again = new Outbox({ storage: fileStorage(path), ...scope });
    expect(await again.list()).toEqual([
      written[0],
      { ...written[1], state: "failed", error: { code: "forbidden", message: "no" } },
      written[2],
    ]);
    again.close();
  });

  it("tells other instances (other tabs) when it changed", async () => {
    const storage = memoryStorage();
    const tab1 = new Outbox({ storage, ...scope });
    const tab2 = new Outbox({ storage, ...scope });
    const heard = new Promise<void>((resolve) => tab2.onChange(resolve));
    await tab1.add("from tab 1");
    await heard;
    expect((await tab2.list()).map((e) => e.body)).toEqual(["from tab 1"]);
    tab1.close();
    tab2.close();
  });
});

describe("processLocks", () => {
  it("runs one holder at a time, in the order they asked, and goes on after a failure", async () => {
    const locks = processLocks();
    const log: string[] = [];
    const hold = (name: string, ms: number, fail = false) =>
      locks.withLock("flush", async () => {
        log.push(`${name} in`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name} out`);
        if (fail) throw new Error(name);
      });
    const results = await Promise.allSettled([hold("a", 30, true), hold("b", 5), hold("c", 1)]);
    expect(log).toEqual(["a in", "a out", "b in", "b out", "c in", "c out"]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
  });
});

describe("the client reads the v1.1 frames", () => {
  const id = "01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7a";
  it("presence_diff, heartbeat timings in the welcome, and typing with a ttl", () => {
    expect(parseServerFrame(JSON.stringify({ type: "presence_diff", joined: [id], left: [] }))).toEqual({
      frame: { type: "presence_diff", joined: [id], left: [] },
    });
    const welcome = {
      type: "welcome",
      userId: id,
      presence: [id],
      lastSeq: 3,
      heartbeatSeconds: 15,
      leaseSeconds: 30,
      ackEvery: 250,
    };
    expect(parseServerFrame(JSON.stringify(welcome))).toEqual({ frame: welcome });
    expect(parseServerFrame(JSON.stringify({ type: "typing", userId: id, ttlMs: 4000 }))).toEqual({
      frame: { type: "typing", userId: id, ttlMs: 4000 },
    });
    // The v1.0 frames still parse (a server without leases).
    expect(parseServerFrame(JSON.stringify({ type: "presence", users: [id] }))).toEqual({
      frame: { type: "presence", users: [id] },
    });
    expect(parseServerFrame(JSON.stringify({ type: "presence_diff", joined: "x" }))).toMatchObject({
      error: { code: "invalid_frame" },
    });
  });
});
