import { describe, expect, it } from "vitest";
import { apiWithEnv } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { randomIp } from "./helpers/users.ts";

// GET /ready is public: it may say what is up and how fast, never why something is down, and a
// client may not use it to make the Worker hit every dependency as often as it likes.

describe("GET /ready leaks nothing and is rate-limited", () => {
  it("a dependency that is down is reported as ok: false with a latency, without its error text", async () => {
    const overrides = { LIBSQL_URL: "http://127.0.0.1:1", PARTYKIT_URL: "http://127.0.0.1:1" };
    const res = await apiWithEnv(overrides, "/ready", { headers: { "cf-connecting-ip": randomIp() } });
    const text = await res.text();
    expect(res.status, text).toBe(503);
    const body = JSON.parse(text) as { status: string; checks: Record<string, Record<string, unknown>> };
    expect(body.status).toBe("down");
    expect(Object.keys(body.checks).sort()).toEqual(["cache", "database", "realtime", "storage"]);
    expect(body.checks.database).toEqual({ ok: false, latencyMs: expect.any(Number) });
    expect(body.checks.realtime).toEqual({ ok: false, latencyMs: expect.any(Number) });
    for (const [name, check] of Object.entries(body.checks)) {
      expect(
        Object.keys(check).every((k) => ["ok", "latencyMs", "mode"].includes(k)),
        name,
      ).toBe(true);
    }
    expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|fetch failed|error|timed out/i);
  });

  it("answers 429 with Retry-After once an IP used its budget; another IP still gets its report", async () => {
    const limited = { READY_RATE_LIMIT: "2" };
    const ip = randomIp();
    const ready = (from: string) => apiWithEnv(limited, "/ready", { headers: { "cf-connecting-ip": from } });
    expect((await ready(ip)).status).toBe(200);
    expect((await ready(ip)).status).toBe(200);
    const refused = await ready(ip);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectProblem(refused, 429, "rate_limited");
    expect((await ready(randomIp())).status).toBe(200);
  });
});
