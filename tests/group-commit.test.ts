/**
 * Group commit (party/group-commit.ts → POST /v1/internal/rooms/:id/messages/batch →
 * src/services/rooms/message-batch.ts), against the real partykit dev, Worker and sqld. Every
 * assertion reads the raw frames the server sent. A burst is made deterministic with the
 * development/test hook `x-petrel-debug: group-commit hold|release|stats` (service credential):
 * while held, arrivals queue; each frame is sent only once the party counts the one before it
 * as queued, so the arrival order is known.
 */
import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { MessageHistorySchema } from "../src/shared/message.schema.ts";
import { SERVICE_AUTH_HEADER } from "../src/shared/realtime.ts";
import { api, apiWithEnv, jsonBody, parsed } from "./helpers/api.ts";
import { rawSocket, roomFixture, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, type TestUser } from "./helpers/users.ts";

const bindings = env as unknown as Record<string, string>;
type Raw = Awaited<ReturnType<typeof rawSocket>>;
interface Stats {
  calls: number;
  messages: number;
  recent: Array<{ messages: number; db: number | null }>;
  queued: number;
}

async function commit(roomId: string, command: "hold" | "release" | "stats"): Promise<Stats> {
  const res = await fetch(`${inject("partyUrl")}/parties/chat/${roomId}`, {
    method: "POST",
    headers: { [SERVICE_AUTH_HEADER]: bindings.SERVICE_TOKEN!, "x-petrel-debug": `group-commit ${command}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Stats;
}

async function open(user: TestUser, roomId: string): Promise<Raw> {
  const sock = await rawSocket((await ticketFor(user, `room:${roomId}`)).body.url);
  expect(sock.status).toBe(101);
  await until(() => sock.raw.some((f) => f.type === "welcome"), 10_000, "welcome");
  return sock;
}

const frame = (clientId: string, body: string, attachments?: string[]) =>
  JSON.stringify({ type: "message", clientId, body, ...(attachments ? { attachments } : {}) });

/** Send each [socket, frame] while the room is held, one arrival at a time, then release. */
async function burst(roomId: string, sends: Array<[Raw, string]>) {
  const before = await commit(roomId, "hold");
  for (const [i, [sock, f]] of sends.entries()) {
    sock.ws!.send(f);
    let queued = 0;
    const deadline = Date.now() + 10_000;
    while (queued < i + 1) {
      if (Date.now() > deadline) throw new Error(`frame ${i} never queued`);
      queued = (await commit(roomId, "stats")).queued;
    }
  }
  await commit(roomId, "release");
  return before;
}

const answerTo = (sock: Raw, clientId: string, type: "ack" | "error") =>
  sock.raw.find((f) => f.type === type && f.clientId === clientId);
const waitAnswer = async (sock: Raw, clientId: string, type: "ack" | "error") => {
  await until(() => answerTo(sock, clientId, type) !== undefined, 10_000, `${type} for ${clientId}`);
  return answerTo(sock, clientId, type)!;
};
const messageSeqs = (sock: Raw) =>
  sock.raw.filter((f) => f.type === "message").map((f) => (f.message as { seq: number }).seq);

describe("group commit", () => {
  it("stores a burst from several sockets in one call and one transaction, seqs in arrival order, each sender acked", async () => {
    const { owner, room, members } = await roomFixture(["member", "member"]);
    const socks = [
      await open(owner, room.id),
      await open(members[0]!, room.id),
      await open(members[1]!, room.id),
    ];
    socks.push(await open(owner, room.id)); // a second tab of the owner
    // A lone message first: its call's database cost is the baseline of one transaction.
    socks[0]!.ws!.send(frame(crypto.randomUUID(), "lone"));
    await until(() => socks.every((s) => messageSeqs(s).length === 1), 10_000, "lone message");
    const lone = (await commit(room.id, "stats")).recent.at(-1)!;
    expect(lone.messages).toBe(1);

    const ids = socks.map(() => crypto.randomUUID());
    const before = await burst(
      room.id,
      socks.map((s, i): [Raw, string] => [s, frame(ids[i]!, `burst ${i}`)]),
    );
    const acks = await Promise.all(socks.map((s, i) => waitAnswer(s, ids[i]!, "ack")));
    expect(acks.map((a) => a.seq)).toEqual([2, 3, 4, 5]); // gapless, in arrival order
    const after = await commit(room.id, "stats");
    expect(after.calls - before.calls).toBe(1); // one internal call for the whole burst
    expect(after.recent.at(-1)).toEqual({ messages: 4, db: lone.db }); // and no more round trips than one message
    expect(lone.db).toBeGreaterThan(0);
    // Every socket got every message once, in seq order, and nobody got an error.
    await until(() => socks.every((s) => messageSeqs(s).length === 5), 10_000, "broadcasts");
    for (const s of socks) {
      expect(messageSeqs(s)).toEqual([1, 2, 3, 4, 5]);
      expect(s.raw.filter((f) => f.type === "error")).toEqual([]);
      s.ws!.close();
    }
  });

  it("answers a replayed clientId in a group with the original, a conflicting one with its own error, and stores the rest", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const a = await open(owner, room.id);
    const b = await open(members[0]!, room.id);
    const original = crypto.randomUUID();
    a.ws!.send(frame(original, "first"));
    const first = await waitAnswer(a, original, "ack");
    const fresh = crypto.randomUUID();
    const other = crypto.randomUUID();
    await burst(room.id, [
      [a, frame(original, "first")], // a retry: same clientId, same body
      [b, frame(fresh, "new")],
      [b, frame(fresh, "new")], // the same retry inside the group
      [a, frame(other, "x")],
    ]);
    await until(() => a.raw.filter((f) => f.type === "ack").length === 3, 10_000, "a's acks");
    const aAcks = a.raw.filter((f) => f.type === "ack");
    expect(aAcks[1]).toMatchObject({ clientId: original, id: first.id, seq: first.seq });
    expect(aAcks[2]).toMatchObject({ clientId: other, seq: 3 });
    await until(() => b.raw.filter((f) => f.type === "ack").length === 2, 10_000, "b's acks");
    const bAcks = b.raw.filter((f) => f.type === "ack");
    expect(bAcks.map((f) => f.seq)).toEqual([2, 2]);
    expect(bAcks[0]!.id).toBe(bAcks[1]!.id);
    // Stored once each, broadcast once each.
    await until(() => messageSeqs(b).length === 3, 10_000, "broadcasts");
    await new Promise((r) => setTimeout(r, 200));
    expect(messageSeqs(b)).toEqual([1, 2, 3]);

    // The same clientId with another body is a conflict for that message only.
    const next = crypto.randomUUID();
    await burst(room.id, [
      [a, frame(original, "changed")],
      [b, frame(next, "fine")],
    ]);
    expect(await waitAnswer(a, original, "error")).toMatchObject({
      type: "error",
      code: "conflict",
      clientId: original,
    });
    expect(await waitAnswer(b, next, "ack")).toMatchObject({ seq: 4 });
    a.ws!.close();
    b.ws!.close();
  });

  it("refuses a bad attachment in a group with an error carrying its clientId, and stores the others", async () => {
    const { owner, room, members } = await roomFixture(["member"]);
    const a = await open(owner, room.id);
    const b = await open(members[0]!, room.id);
    const bad = crypto.randomUUID();
    const good = [crypto.randomUUID(), crypto.randomUUID()];
    await burst(room.id, [
      [b, frame(good[0]!, "before")],
      [a, frame(bad, "with a file that is not there", [crypto.randomUUID()])],
      [b, frame(good[1]!, "after")],
    ]);
    expect(await waitAnswer(a, bad, "error")).toMatchObject({ code: "validation_failed", clientId: bad });
    expect(answerTo(a, bad, "ack")).toBeUndefined();
    expect((await waitAnswer(b, good[0]!, "ack")).seq).toBe(1);
    expect((await waitAnswer(b, good[1]!, "ack")).seq).toBe(2); // no seq was spent on the refused one
    await until(() => messageSeqs(a).length === 2, 10_000, "broadcasts");
    expect(messageSeqs(a)).toEqual([1, 2]);
    a.ws!.close();
    b.ws!.close();
  });

  it("keeps seqs gapless with REST posts to the same room, held and concurrent", async () => {
    const { owner, room, members } = await roomFixture(["member", "member"]);
    const users = [owner, ...members];
    const socks = await Promise.all(users.map((u) => open(u, room.id)));
    const rest = (u: TestUser, i: number) =>
      api(
        `/v1/rooms/${room.id}/messages`,
        jsonBody({ body: `rest ${i}`, clientId: crypto.randomUUID() }, bearer(u.accessToken)),
      );
    // REST posts while a group waits: they take the next seqs, the group the ones after.
    const held = socks.map(() => crypto.randomUUID());
    await commit(room.id, "hold");
    for (const [i, s] of socks.entries()) s.ws!.send(frame(held[i]!, `held ${i}`));
    while ((await commit(room.id, "stats")).queued < socks.length)
      await new Promise((r) => setTimeout(r, 25));
    for (let i = 0; i < 2; i++) expect((await rest(users[i]!, i)).status).toBe(201);
    await commit(room.id, "release");
    const heldSeqs = (await Promise.all(socks.map((s, i) => waitAnswer(s, held[i]!, "ack")))).map(
      (a) => a.seq,
    );
    expect([...heldSeqs].sort()).toEqual([3, 4, 5]);

    // Then socket messages and REST posts at once, from every user.
    const ids = socks.map(() => [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]);
    const posts: Promise<Response>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [i, s] of socks.entries()) s.ws!.send(frame(ids[i]![round]!, `mixed ${round}.${i}`));
      posts.push(rest(users[round]!, 10 + round));
    }
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual([201, 201, 201]);
    await Promise.all(socks.flatMap((s, i) => ids[i]!.map((id) => waitAnswer(s, id, "ack"))));
    const total = 5 + 9 + 3;
    await until(() => socks.every((s) => messageSeqs(s).length === total), 10_000, "every broadcast");
    for (const s of socks) expect(messageSeqs(s)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const history = await parsed(
      await api(`/v1/rooms/${room.id}/messages?limit=100`, bearer(owner.accessToken)),
      MessageHistorySchema,
    );
    expect(history.items.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const s of socks) s.ws!.close();
  });

  it("settles each author's budget before the batch: only the message over it is refused (429 + retryAfter)", async () => {
    // Members added straight to the database have spent none of their API budget yet.
    const { room, members } = await roomFixture(["member", "member"]);
    const [heavy, light] = [members[0]!.id, members[1]!.id];
    const service = { [SERVICE_AUTH_HEADER]: bindings.SERVICE_TOKEN! };
    const item = (authorId: string, i: number) => ({
      authorId,
      clientId: crypto.randomUUID(),
      body: `budget ${i}`,
    });
    // API_RATE_LIMIT=2 for this call: the first member's third message is over budget, the other's is not.
    const res = await apiWithEnv(
      { API_RATE_LIMIT: "2" },
      `/v1/internal/rooms/${room.id}/messages/batch`,
      jsonBody(
        { messages: [item(heavy, 0), item(heavy, 1), item(heavy, 2), item(light, 3)] },
        { headers: service },
      ),
    );
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results.map((r) => r.status)).toEqual([201, 201, 429, 201]);
    expect(results[2]).toMatchObject({ problem: { code: "rate_limited" } });
    expect(results[2]!.retryAfter).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r.status === 201).map((r) => (r.message as { seq: number }).seq)).toEqual([
      1, 2, 3,
    ]);
  });
});
