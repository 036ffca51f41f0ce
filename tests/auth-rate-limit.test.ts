import { describe, expect, inject, it } from "vitest";
import { apiWithEnv, jsonBody, withFault } from "./helpers/api.ts";
import { declare } from "./helpers/files.ts";
import { expectProblem } from "./helpers/problem.ts";
import { roomFixture } from "./helpers/realtime.ts";
import { randomIp, registerUser } from "./helpers/users.ts";

const LIMIT = { AUTH_RATE_LIMIT: "3" };
const loginAs = (email: string, ip: string, env: Record<string, string> = LIMIT) =>
  apiWithEnv(
    env,
    "/v1/auth/login",
    jsonBody({ email, password: "wrong wrong wrong" }, { headers: { "cf-connecting-ip": ip } }),
  );

describe("auth rate limits (real Redis through the Upstash bridge)", () => {
  it("limits per IP: the 4th attempt within the window is 429 with Retry-After and RateLimit headers", async () => {
    const ip = randomIp();
    for (let i = 0; i < 3; i++) {
      const res = await loginAs(`a${i}-${crypto.randomUUID()}@example.test`, ip);
      expect(res.status).toBe(401);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      expect(res.headers.get("ratelimit-remaining")).toBe(String(2 - i));
    }
    const limited = await loginAs(`a4-${crypto.randomUUID()}@example.test`, ip);
    await expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    // Another IP is not affected.
    expect((await loginAs(`b-${crypto.randomUUID()}@example.test`, randomIp())).status).toBe(401);
  });

  it("limits per email across IPs, successful attempts included", async () => {
    const u = await registerUser(); // registering was the first attempt for this email
    for (let i = 0; i < 2; i++) {
      const ok = await apiWithEnv(
        LIMIT,
        "/v1/auth/login",
        jsonBody({ email: u.email, password: u.password }, { headers: { "cf-connecting-ip": randomIp() } }),
      );
      expect(ok.status).toBe(200);
    }
    await expectProblem(await loginAs(u.email.toUpperCase(), randomIp()), 429, "rate_limited");
  });

  it("with Redis configured but down, auth routes answer 503 + Retry-After fast, other routes keep working", async () => {
    await withFault("fault-redis", async (fault) => {
      const env = { ...LIMIT, UPSTASH_REDIS_REST_URL: inject("faultUpstashUrl"), REDIS_TIMEOUT_MS: "300" };
      const u = await registerUser();
      expect((await loginAs(`c-${crypto.randomUUID()}@example.test`, randomIp(), env)).status).toBe(401);
      await fault.stop();
      try {
        const start = Date.now();
        const res = await loginAs(`d-${crypto.randomUUID()}@example.test`, randomIp(), env);
        await expectProblem(res, 503, "dependency_unavailable");
        expect(res.headers.get("retry-after")).toBe("5");
        expect(Date.now() - start).toBeLessThan(4000); // REDIS_TIMEOUT_MS (300) and a loaded machine
        const me = await apiWithEnv(env, "/v1/me", { headers: { authorization: `Bearer ${u.accessToken}` } });
        expect(me.status).toBe(200);
      } finally {
        await fault.start();
      }
      // Recovers once Redis is back (the bridge reconnects by itself).
      let status = 0;
      for (let i = 0; i < 40 && status !== 401; i++) {
        status = (await loginAs(`e-${crypto.randomUUID()}@example.test`, randomIp(), env)).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
    });
  });
});

describe("API rate limit", () => {
  it("limits each user separately, with RateLimit headers, and 429 past the limit", async () => {
    const env = { API_RATE_LIMIT: "3" };
    const a = await registerUser();
    const b = await registerUser();
    const me = (token: string) =>
      apiWithEnv(env, "/v1/me", { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) {
      const res = await me(a.accessToken);
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-remaining")).toBe(String(2 - i));
    }
    const limited = await me(a.accessToken);
    await expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await me(b.accessToken)).status).toBe(200);
  });

  it("fails open when Redis is down: API routes keep answering", async () => {
    await withFault("fault-redis", async (fault) => {
      const env = { API_RATE_LIMIT: "3", UPSTASH_REDIS_REST_URL: inject("faultUpstashUrl") };
      const u = await registerUser();
      await fault.stop();
      try {
        for (let i = 0; i < 5; i++) {
          const res = await apiWithEnv(env, "/v1/me", {
            headers: { authorization: `Bearer ${u.accessToken}` },
          });
          expect(res.status).toBe(200);
        }
      } finally {
        await fault.start();
      }
    });
  });
});

describe("stacked limiters", () => {
  it("a 429 from the upload limiter carries the upload limiter's RateLimit-* and Retry-After", async () => {
    const { owner, org } = await roomFixture();
    const env = { FILES_RATE_LIMIT: "1", FILES_RATE_WINDOW_SECONDS: "3600", API_RATE_LIMIT: "1000" };
    expect((await declare(owner, { size: 64, orgId: org.id }, env)).status).toBe(201);
    const limited = await declare(owner, { size: 64, orgId: org.id }, env);
    await expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("ratelimit-limit")).toBe("1");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(60); // the hour window, not the API's minute
    expect(limited.headers.get("retry-after")).toBe(limited.headers.get("ratelimit-reset"));
  });
});
