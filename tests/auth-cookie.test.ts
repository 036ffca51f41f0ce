import { describe, expect, it } from "vitest";
import { api, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { PASSWORD, registerUser } from "./helpers/users.ts";

const ORIGIN = "http://app.test"; // in the test CORS allow-list

function cookieFrom(res: Response): string {
  const raw = res.headers.get("set-cookie") ?? "";
  const m = /petrel_rt=([^;]+)/.exec(raw);
  if (!m) throw new Error(`no refresh cookie in: ${raw}`);
  return `petrel_rt=${m[1]}`;
}

async function cookieLogin() {
  const u = await registerUser();
  const res = await api(
    "/v1/auth/login",
    jsonBody(
      { email: u.email, password: PASSWORD },
      { headers: { "x-auth-mode": "cookie", origin: ORIGIN } },
    ),
  );
  return { u, res };
}

describe("cookie flow and CSRF", () => {
  it("puts the refresh token only in an HttpOnly, Secure, SameSite=Lax cookie scoped to /v1/auth", async () => {
    const { res } = await cookieLogin();
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/petrel_rt=[^;]+/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\/v1\/auth/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty("refreshToken");
    expect(typeof body.accessToken).toBe("string");
  });

  it("refreshes from the cookie (empty body) for an allowed origin, rotating the cookie", async () => {
    const { res } = await cookieLogin();
    const cookie = cookieFrom(res);
    const r = await api("/v1/auth/refresh", { method: "POST", headers: { cookie, origin: ORIGIN } });
    expect(r.status).toBe(200);
    const next = cookieFrom(r);
    expect(next).not.toBe(cookie);
    expect(await r.json()).not.toHaveProperty("refreshToken");
    const viaFetchMetadata = await api("/v1/auth/refresh", {
      method: "POST",
      headers: { cookie: next, "sec-fetch-site": "same-origin" },
    });
    expect(viaFetchMetadata.status).toBe(200);
  });

  it.each([
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["a cross-site Fetch-Metadata request", { "sec-fetch-site": "cross-site" }],
    ["no Origin and no Fetch-Metadata", {}],
    ["no Origin, text/plain body", { "content-type": "text/plain" }],
    ["the literal null origin", { origin: "null" }],
  ])(
    "refuses a cookie refresh with %s (403 csrf_failed), and the cookie stays valid",
    async (_name, headers) => {
      const { res } = await cookieLogin();
      const cookie = cookieFrom(res);
      const r = await api("/v1/auth/refresh", { method: "POST", headers: { cookie, ...headers }, body: "" });
      await expectProblem(r, 403, "csrf_failed");
      const ok = await api("/v1/auth/refresh", { method: "POST", headers: { cookie, origin: ORIGIN } });
      expect(ok.status).toBe(200);
    },
  );

  it("refuses a cookie-mode login from a foreign origin", async () => {
    const u = await registerUser();
    const res = await api(
      "/v1/auth/login",
      jsonBody(
        { email: u.email, password: PASSWORD },
        { headers: { "x-auth-mode": "cookie", origin: "https://evil.example" } },
      ),
    );
    await expectProblem(res, 403, "csrf_failed");
  });

  it("answers CORS preflights only for allow-listed origins", async () => {
    const ok = await api("/v1/auth/refresh", {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST" },
    });
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    const evil = await api("/v1/auth/refresh", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });
});
