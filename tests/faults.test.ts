import { describe, expect, inject, it } from "vitest";
import { api, apiWithEnv, eventually, jsonBody, withFault } from "./helpers/api.ts";
import { failingTrigger, rows } from "./helpers/faults.ts";
import { authed } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { connectRoom, roomFixture, until } from "./helpers/realtime.ts";
import { bearer, PASSWORD, randomIp, registerUser } from "./helpers/users.ts";

/**
 * Fault injection against the real services: the second sqld is stopped and started through the
 * Node-side control server, a TCP server that never answers stands in for hung dependencies, and
 * sqld triggers make writes fail half-way. The Worker is pointed at the faulty services with
 * apiWithEnv(), so tests running in parallel keep their healthy ones.
 */
const timed = async <T>(fn: () => Promise<T>) => {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
};

async function expectUnavailable(res: Response) {
  await expectProblem(res, 503, "dependency_unavailable");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
}

describe("faults: the database", () => {
  it("with sqld stopped, reads and writes answer 503 + Retry-After within the timeout, and work again once it is back", async () => {
    await withFault("fault-sqld", async (fault) => {
      const db = { LIBSQL_URL: inject("faultSqldUrl"), DB_TIMEOUT_MS: "1000" };
      const email = `fault-${crypto.randomUUID()}@example.test`;
      const ip = randomIp();
      const registered = await apiWithEnv(
        db,
        "/v1/auth/register",
        jsonBody({ email, password: PASSWORD, name: "Fault" }, { headers: { "cf-connecting-ip": ip } }),
      );
      expect(registered.status, await registered.clone().text()).toBe(201);
      const { accessToken } = (await registered.json()) as { accessToken: string };
      const calls: Array<[string, RequestInit]> = [
        ["/v1/me/sessions", bearer(accessToken)],
        ["/v1/orgs", authed(accessToken, "POST", { name: "During the outage" })],
        ["/v1/auth/login", jsonBody({ email, password: PASSWORD }, { headers: { "cf-connecting-ip": ip } })],
      ];
      await fault.stop();
      try {
        for (const [path, init] of calls) {
          const { value: res, ms } = await timed(() => apiWithEnv(db, path, init));
          await expectUnavailable(res);
          expect(ms, path).toBeLessThan(2 * 1000 + 2000); // at most two timed-out calls, plus slack
        }
      } finally {
        await fault.start();
      }
      const sessions = await eventually(
        async () => {
          const res = await apiWithEnv(db, "/v1/me/sessions", bearer(accessToken));
          return res.status === 200 ? res : undefined;
        },
        15_000,
        "sqld back",
      );
      expect(((await sessions.json()) as { items: unknown[] }).items).toHaveLength(1);
      const org = await apiWithEnv(db, "/v1/orgs", authed(accessToken, "POST", { name: "After the outage" }));
      expect(org.status).toBe(201);
    });
  });

  it("a hung database (accepts, never answers) is cut off by DB_TIMEOUT_MS", async () => {
    const hung = { LIBSQL_URL: inject("hungUrl"), DB_TIMEOUT_MS: "500" };
    const login = await timed(() =>
      apiWithEnv(
        hung,
        "/v1/auth/login",
        jsonBody(
          { email: "hung@example.test", password: PASSWORD },
          { headers: { "cf-connecting-ip": randomIp() } },
        ),
      ),
    );
    await expectUnavailable(login.value);
    expect(login.ms).toBeGreaterThanOrEqual(400); // it waited for the timeout, not for a refusal
    expect(login.ms).toBeLessThan(3000);
    const user = await registerUser();
    const write = await timed(() =>
      apiWithEnv(hung, "/v1/orgs", authed(user.accessToken, "POST", { name: "Never written" })),
    );
    await expectUnavailable(write.value);
    expect(write.ms).toBeLessThan(2 * 500 + 3000);
  });
});

// A hung identity provider is covered in tests/oauth.test.ts ("answers 503 when the provider does
// not answer discovery in time").

describe("faults: realtime", () => {
  it("with the partykit dev process stopped, posting answers 201; started again, the client syncs exactly the missed messages", async () => {
    await withFault("fault-partykit", async (fault) => {
      // The Worker publishes to, and issues tickets for, the fault party: a real process to stop.
      const onFault = { PARTYKIT_URL: inject("faultPartyUrl") };
      const viaFault: typeof fetch = (input, init) =>
        apiWithEnv(onFault, new URL(String(input)).pathname, init);
      const { owner, room } = await roomFixture();
      const live = await connectRoom(owner, room.id, { fetch: viaFault });
      // What the server sent, before the client's dedupe and reorder buffer.
      const raw: Array<{ type: string; message?: { seq: number }; messages?: Array<{ seq: number }> }> = [];
      live.client.socket.addEventListener("message", (e) => raw.push(JSON.parse(String(e.data))));
      try {
        await until(() => live.client.state === "live", 10_000, "live");
        await live.client.send("before");
        const post = (body: string) =>
          apiWithEnv(
            onFault,
            `/v1/rooms/${room.id}/messages`,
            jsonBody({ body, clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
          );
        await fault.stop();
        for (const body of ["while down 1", "while down 2"]) expect((await post(body)).status).toBe(201);
        await until(() => live.client.state === "reconnecting", 10_000, "the client notices");
        await fault.start();
        await until(() => live.messages.length === 3, 30_000, "the missed messages");
        expect(live.messages.map((m) => [m.seq, m.body])).toEqual([
          [1, "before"],
          [2, "while down 1"],
          [3, "while down 2"],
        ]);
        const sent = raw.flatMap((f) =>
          f.type === "message" ? [f.message!.seq] : f.type === "history" ? f.messages!.map((m) => m.seq) : [],
        );
        expect(sent).toEqual([1, 2, 3]); // each seq once, in order, as the server sent them
        // The restarted party shows only who is connected now.
        const welcomes = raw.filter((f) => f.type === "welcome") as unknown as Array<{ presence: string[] }>;
        expect(welcomes.at(-1)!.presence).toEqual([owner.id]);
      } finally {
        live.client.close();
      }
    });
  }, 90_000);

  it("with PartyKit unreachable or hung, posting still answers 201, and a live client recovers the messages by sync", async () => {
    const { owner, room } = await roomFixture();
    const live = await connectRoom(owner, room.id);
    try {
      await until(() => live.client.state === "live", 10_000, "live");
      await live.client.send("before");
      await until(() => live.messages.length === 1, 5000, "the first message");
      const post = (body: string) =>
        jsonBody({ body, clientId: crypto.randomUUID() }, bearer(owner.accessToken));

      const down = await apiWithEnv(
        { PARTYKIT_URL: "http://127.0.0.1:1" },
        `/v1/rooms/${room.id}/messages`,
        post("party down"),
      );
      expect(down.status).toBe(201);
      // apiWithEnv also waits for the deferred publish, so this bounds the publish's timeout too.
      const hung = await timed(() =>
        apiWithEnv(
          { PARTYKIT_URL: inject("hungUrl"), PARTYKIT_TIMEOUT_MS: "300" },
          `/v1/rooms/${room.id}/messages`,
          post("party hung"),
        ),
      );
      expect(hung.value.status).toBe(201);
      expect(hung.ms).toBeLessThan(3000);
      await new Promise((r) => setTimeout(r, 500));
      expect(live.messages.map((m) => m.body)).toEqual(["before"]); // nothing reached the party

      // The party is back (the Worker publishes to it again): the next broadcast reveals the gap,
      // and the client syncs it before delivering anything after it.
      expect((await api(`/v1/rooms/${room.id}/messages`, post("party back"))).status).toBe(201);
      await until(() => live.messages.length === 4, 10_000, "the missed messages");
      expect(live.messages.map((m) => [m.seq, m.body])).toEqual([
        [1, "before"],
        [2, "party down"],
        [3, "party hung"],
        [4, "party back"],
      ]);
    } finally {
      live.client.close();
    }
  });
});

describe("faults: a write that fails half-way leaves nothing behind", () => {
  it("a message whose insert fails does not use up a seq", async () => {
    const { owner, room } = await roomFixture();
    const post = (body: string) =>
      api(
        `/v1/rooms/${room.id}/messages`,
        jsonBody({ body, clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
      );
    expect((await post("one")).status).toBe(201);
    const trigger = await failingTrigger("messages", "insert", `$row.room_id = '${room.id}'`);
    try {
      await expectProblem(await post("lost"), 500, "internal");
    } finally {
      await trigger.drop();
    }
    expect(await rows("select last_seq from rooms where id = ?", [room.id])).toEqual([
      expect.objectContaining({ last_seq: 1 }),
    ]);
    const next = await post("two");
    expect(((await next.json()) as { seq: number }).seq).toBe(2);
    const stored = await rows("select seq, body from messages where room_id = ? order by seq", [room.id]);
    expect(stored.map((r) => [r.seq, r.body])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
  });

  it("an org whose owner membership cannot be written is not created at all", async () => {
    const user = await registerUser();
    const slug = `half-${crypto.randomUUID().slice(0, 8)}`;
    const trigger = await failingTrigger("memberships", "insert", `$row.user_id = '${user.id}'`);
    try {
      const res = await api("/v1/orgs", authed(user.accessToken, "POST", { name: "Half", slug }));
      await expectProblem(res, 500, "internal");
    } finally {
      await trigger.drop();
    }
    expect(await rows("select id from orgs where created_by = ? or slug = ?", [user.id, slug])).toEqual([]);
    expect(
      await rows("select id from audit_log where actor_id = ? and action = 'org.created'", [user.id]),
    ).toEqual([]);
    const again = await api("/v1/orgs", authed(user.accessToken, "POST", { name: "Half", slug }));
    expect(again.status).toBe(201); // the slug was never taken
  });

  it("a registration whose session cannot be written leaves no user behind", async () => {
    const email = `half-${crypto.randomUUID()}@example.test`;
    const register = () =>
      api(
        "/v1/auth/register",
        jsonBody(
          { email, password: PASSWORD, name: "Half" },
          { headers: { "cf-connecting-ip": randomIp() } },
        ),
      );
    const trigger = await failingTrigger(
      "sessions",
      "insert",
      `$row.user_id in (select id from users where email = '${email}')`,
    );
    try {
      await expectProblem(await register(), 500, "internal");
    } finally {
      await trigger.drop();
    }
    expect(await rows("select id from users where email = ?", [email])).toEqual([]);
    expect((await register()).status).toBe(201); // the email was never taken
  });
});
