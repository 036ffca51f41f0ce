import { describe, expect, inject, it } from "vitest";
import { apiWithEnv, jsonBody, sqldCpuPercent, withFault } from "./helpers/api.ts";
import { authed } from "./helpers/orgs.ts";
import { bearer, PASSWORD, randomIp } from "./helpers/users.ts";

/**
 * Concurrent writers through the Worker against a real sqld, started as dev and the suite start
 * it (scripts/lib/stack.ts). Local sqld once locked up under exactly this: no request may hang
 * or 500. It runs on the suite's second sqld, under its lease, so the burst (which fills sqld's
 * request queue on purpose) does not slow the test files running beside it.
 */
const HANG_MS = 25_000;

function send(path: string, init: RequestInit): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${init.method} ${path} hung for ${HANG_MS} ms`)), HANG_MS);
  });
  const env = { LIBSQL_URL: inject("faultSqldUrl") };
  return Promise.race([apiWithEnv(env, path, init), hang]).finally(() => clearTimeout(timer));
}

async function created<T>(res: Promise<Response>): Promise<T> {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(201);
  return (await r.json()) as T;
}

const register = (i: number | string) =>
  send(
    "/v1/auth/register",
    jsonBody(
      { email: `burst-${crypto.randomUUID()}@example.test`, password: PASSWORD, name: `Burst ${i}` },
      { headers: { "cf-connecting-ip": randomIp() } },
    ),
  );

describe("concurrent writes on a real sqld", () => {
  it("50 message posts, 50 org creations and 20 registrations at once: no 500, no hang, seqs 1..50", async () => {
    await withFault("fault-sqld", async () => {
      const { accessToken: token } = await created<{ accessToken: string }>(register("owner"));
      const org = await created<{ id: string }>(send("/v1/orgs", authed(token, "POST", { name: "Burst" })));
      const room = await created<{ id: string }>(
        send(`/v1/orgs/${org.id}/rooms`, authed(token, "POST", { name: "burst", visibility: "public" })),
      );
      const posts = Array.from({ length: 50 }, (_, i) => ({
        clientId: crypto.randomUUID(),
        body: `message ${i}`,
      }));
      const post = (i: number) => send(`/v1/rooms/${room.id}/messages`, jsonBody(posts[i], bearer(token)));

      const [postRes, orgRes, regRes] = await Promise.all([
        Promise.all(posts.map((_, i) => post(i))),
        Promise.all(
          Array.from({ length: 50 }, (_, i) => send("/v1/orgs", authed(token, "POST", { name: `Org ${i}` }))),
        ),
        Promise.all(Array.from({ length: 20 }, (_, i) => register(i))),
      ]);

      // No idempotency key: these must succeed at the first try.
      expect(orgRes.map((r) => r.status)).toEqual(Array(50).fill(201));
      expect(regRes.map((r) => r.status)).toEqual(Array(20).fill(201));
      // A post may answer 503 under contention, but only if a retry with its clientId then succeeds.
      const statuses = postRes.map((r) => r.status);
      expect(
        statuses.every((s) => s === 201 || s === 503),
        JSON.stringify(statuses),
      ).toBe(true);
      for (const [i, res] of postRes.entries()) {
        if (res.status !== 503) continue;
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect([200, 201]).toContain((await post(i)).status);
      }

      const history = await send(`/v1/rooms/${room.id}/messages?limit=100`, bearer(token));
      const { items } = (await history.json()) as { items: Array<{ seq: number; clientId: string }> };
      expect(items.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(items.map((m) => m.clientId))).toEqual(new Set(posts.map((p) => p.clientId)));

      // And sqld is idle again within seconds (it used to spin at ~200 % CPU after such a burst).
      let cpu = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 10 && cpu >= 10; i++) cpu = await sqldCpuPercent("fault-sqld", 1000);
      expect(cpu).toBeLessThan(10);
    });
  });
});
