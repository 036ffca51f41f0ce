import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import PartySocket from "partysocket";
import { describe, expect, inject, it } from "vitest";
import { createUpstashStore } from "../src/adapters/kv.ts";
import { createR2Storage } from "../src/adapters/storage.ts";
import { getDatabase } from "../src/db/client.ts";
import { users } from "../src/db/schema.ts";
import { api, apiWithEnv, jsonBody, settled, withFault } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser } from "./helpers/users.ts";

describe("foundation: the Worker on real services", () => {
  it("GET /health answers 200 and carries a request id", async () => {
    const res = await api("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const ok = await api("/health", { headers: { "x-request-id": "client.req-42_A" } });
    expect(ok.headers.get("x-request-id")).toBe("client.req-42_A");
    for (const bad of ["has space", "x".repeat(129), "semi;colon"]) {
      const res = await api("/health", { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id")).not.toBe(bad);
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("GET /ready reports every dependency up with a latency", async () => {
    const res = await api("/ready");
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; latencyMs: number }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("ok");
    for (const name of ["database", "cache", "storage", "realtime"]) {
      expect(body.checks[name]?.ok, name).toBe(true);
      expect(body.checks[name]?.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(body.checks.cache).toMatchObject({ mode: "redis" });
  });

  it("a query through drizzle reaches sqld", async () => {
    const { db } = getDatabase(inject("sqldUrl"), undefined, 3000);
    const id = crypto.randomUUID();
    await db
      .insert(users)
      .values({ id, email: `${id}@example.test`, name: "Drizzle", handle: `h_${id.slice(0, 8)}` });
    const rows = await db.select().from(users).where(eq(users.id, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, name: "Drizzle", role: "user" });
    // Read it back over sqld's own HTTP API, bypassing drizzle and the client.
    const res = await fetch(`${inject("sqldUrl")}/v2/pipeline`, {
      method: "POST",
      body: JSON.stringify({
        requests: [
          {
            type: "execute",
            stmt: { sql: "select name from users where id = ?", args: [{ type: "text", value: id }] },
          },
          // Close the stream: local sqld has one connection, and an open stream holds it.
          { type: "close" },
        ],
      }),
    });
    const out = (await res.json()) as {
      results: Array<{ response: { result: { rows: Array<Array<{ value: string }>> } } }>;
    };
    expect(out.results[0]?.response.result.rows[0]?.[0]?.value).toBe("Drizzle");
    await db.delete(users).where(eq(users.id, id));
  });

  it("a value written through @upstash/redis is read back from the real Redis via the bridge", async () => {
    const store = createUpstashStore(inject("upstashUrl"), inject("upstashToken"), 1000);
    const key = `foundation:${crypto.randomUUID()}`;
    await store.set(key, { hello: "redis", n: 7 }, 60);
    const raw = await fetch(inject("upstashUrl"), {
      method: "POST",
      headers: { authorization: `Bearer ${inject("upstashToken")}` },
      body: JSON.stringify(["get", key]),
    });
    expect(await raw.json()).toEqual({ result: JSON.stringify({ hello: "redis", n: 7 }) });
    expect(await store.get(key)).toEqual({ hello: "redis", n: 7 });
    expect(await store.del(key)).toBe(1);
    expect(await store.get(key)).toBeNull();
  });

  it("an R2 put/get works on the local emulation", async () => {
    const storage = createR2Storage(env.FILES);
    const key = `foundation/${crypto.randomUUID()}`;
    await storage.put(key, "hello r2", { contentType: "text/plain" });
    const obj = await storage.get(key);
    expect(obj).not.toBeNull();
    expect(obj?.size).toBe(8);
    expect(obj?.contentType).toBe("text/plain");
    expect(await new Response(obj!.body).text()).toBe("hello r2");
    await storage.delete(key);
    expect(await storage.head(key)).toBeNull();
  });

  it("a partysocket client connects to partykit dev", async () => {
    const user = await registerUser();
    const ticket = (await (
      await api("/v1/realtime/tickets", jsonBody({ channel: "user" }, bearer(user.accessToken)))
    ).json()) as {
      host: string;
      party: string;
      room: string;
      ticket: string;
    };
    expect(ticket.host).toBe(new URL(inject("partyUrl")).host);
    const socket = new PartySocket({
      host: ticket.host,
      party: ticket.party,
      room: ticket.room,
      query: { ticket: ticket.ticket },
      protocol: "ws",
      maxRetries: 0,
    });
    try {
      const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
        socket.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))));
        socket.addEventListener("error", () => reject(new Error("socket error")));
        setTimeout(() => reject(new Error("no message within 10 s")), 10_000);
      });
      expect(first).toMatchObject({ type: "welcome", userId: user.id });
    } finally {
      socket.close();
    }
  });

  it("a thrown error becomes a 500 problem without internals, and one envelope reaches Sentry", async () => {
    const requestId = `sentry-${crypto.randomUUID()}`;
    const res = await settled("/dev/boom", { headers: { "x-request-id": requestId } });
    const body = await expectProblem(res, 500, "internal");
    expect(JSON.stringify(body)).not.toMatch(/boom|stack|internal detail|dev\.routes/i);
    expect(body.detail).toBeUndefined();
    // settled(): the request's deferred work, Sentry's sending included, has finished.
    const envelopes = (await (
      await fetch(`${inject("sentryUrl")}/envelopes?contains=${requestId}`)
    ).json()) as Array<{ raw: string }>;
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0]!.raw).toContain("boom: internal detail");
  });

  it("the Worker under wrangler dev (as npm run dev runs it) signs in real users: its env-file secrets parse", async () => {
    const res = await fetch(`${inject("workerUrl")}/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "10.250.0.1" },
      body: JSON.stringify({
        email: `wd-${crypto.randomUUID()}@example.test`,
        password: "a perfectly fine passphrase",
        name: "Wrangler Dev",
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { accessToken } = (await res.json()) as { accessToken: string };
    const me = await fetch(`${inject("workerUrl")}/v1/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(200);
  });

  it("an unknown route is a 404 problem", async () => {
    const body = await expectProblem(await api("/no/such/route"), 404, "not_found");
    expect(body.type).toMatch(/not-found/);
  });

  it("a malformed JSON body is a 400 validation_failed", async () => {
    const res = await api("/dev/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    await expectProblem(res, 400, "validation_failed");
    const invalid = await api("/dev/echo", jsonBody({ message: "" }));
    const body = await expectProblem(invalid, 400, "validation_failed");
    expect(body.errors).toEqual([{ path: "message", message: expect.any(String) }]);
    const unknownField = await api("/dev/echo", jsonBody({ message: "hi", extra: 1 }));
    await expectProblem(unknownField, 400, "validation_failed");
    const ok = await api("/dev/echo", jsonBody({ message: "hi" }));
    expect(await ok.json()).toEqual({ message: "hi" });
  });
});

describe("foundation: readiness under faults", () => {
  it("with sqld stopped, /ready answers 503 within its timeout, and 200 once it is back", async () => {
    await withFault("fault-sqld", async (fault) => {
      const overrides = { LIBSQL_URL: inject("faultSqldUrl"), READY_TIMEOUT_MS: "1000" };
      expect((await apiWithEnv(overrides, "/ready")).status).toBe(200);
      await fault.stop();
      try {
        const start = Date.now();
        const res = await apiWithEnv(overrides, "/ready");
        const elapsed = Date.now() - start;
        const body = (await res.json()) as {
          status: string;
          checks: { database: { ok: boolean; error?: string } };
        };
        expect(res.status).toBe(503);
        expect(body.status).toBe("down");
        expect(body.checks.database.ok).toBe(false);
        expect(elapsed).toBeLessThan(1000 + 2500); // the timeout, plus room for a loaded machine
      } finally {
        await fault.start();
      }
      expect((await apiWithEnv(overrides, "/ready")).status).toBe(200);
    });
  });

  it("a hung database (accepts, never answers) is cut off by the readiness timeout", async () => {
    const start = Date.now();
    const res = await apiWithEnv({ LIBSQL_URL: inject("hungUrl"), READY_TIMEOUT_MS: "500" }, "/ready");
    expect(res.status).toBe(503);
    expect(Date.now() - start).toBeLessThan(500 + 2500); // the timeout, plus room for a loaded machine
  });
});
