/** Identity scenarios: login (production password hashing), refresh rotation, authenticated GET /v1/me. */
import type { BenchContext, Scenario } from "./scenarios.ts";

export const PASSWORD = "benchmark passphrase 2026";

/** A fresh user (production password hashing), shared by every scenario that needs one. */
export async function register(ctx: BenchContext, tag: string) {
  const email = `${tag}-${crypto.randomUUID()}@bench.test`;
  const res = await ctx.request("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: `Bench ${tag}` }),
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: { id: string }; accessToken: string; refreshToken: string };
  return { id: body.user.id, email, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

async function loginToken(ctx: BenchContext, email: string): Promise<string> {
  const res = await ctx.request("/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return ((await res.json()) as { refreshToken: string }).refreshToken;
}

export const identityScenarios: Scenario[] = [
  {
    name: "me",
    method: "GET",
    path: "/v1/me",
    description: "Authenticated GET /v1/me (cached after the first request; see me-cached / me-nocache)",
    setup: async (ctx) => {
      const u = await register(ctx, "me");
      return { headers: { authorization: `Bearer ${u.accessToken}` } };
    },
  },
  {
    name: "refresh",
    method: "POST",
    path: "/v1/auth/refresh",
    description: "Refresh-token rotation; each connection presents the successor it got last",
    setup: async (ctx) => {
      const u = await register(ctx, "refresh");
      // One session per connection (up to 16), so rotations never race each other. Sequential:
      // each login costs a production password hash, and a burst would starve the isolate.
      const pool: string[] = [];
      for (let i = 0; i < 16; i++) pool.push(await loginToken(ctx, u.email));
      let next = 0;
      return {
        body: { refreshToken: await loginToken(ctx, u.email) }, // for the probe
        // Each connection owns a pool slot; the slot keeps its newest token, so the measured run
        // continues the chains the warm-up run rotated (a stale token would be reuse → 401).
        setupRequest: (req, context) => {
          context.slot ??= next++ % pool.length;
          return { ...req, body: JSON.stringify({ refreshToken: pool[context.slot as number] }) };
        },
        onResponse: (status, body, context) => {
          if (status === 200)
            pool[context.slot as number] = (JSON.parse(body) as { refreshToken: string }).refreshToken;
        },
      };
    },
  },
  {
    name: "login",
    method: "POST",
    path: "/v1/auth/login",
    description: "Password login with the production hashing cost (PBKDF2-SHA-256, 600,000 iterations)",
    setup: async (ctx) => {
      const u = await register(ctx, "login");
      return { body: { email: u.email, password: PASSWORD } };
    },
  },
];
