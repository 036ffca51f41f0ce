import { describe, expect, it } from "vitest";
import { DOCS_CSP } from "../src/routes/docs/docs.routes.ts";
import { api, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { roomFixture } from "./helpers/realtime.ts";
import { bearer, registerUser } from "./helpers/users.ts";

const ALLOWED = "http://app.test"; // CORS_ORIGINS in tests/setup/global-setup.ts

function expectApiHeaders(res: Response) {
  const h = res.headers;
  expect(h.get("strict-transport-security")).toBe("max-age=63072000; includeSubDomains; preload");
  expect(h.get("x-content-type-options")).toBe("nosniff");
  expect(h.get("x-frame-options")).toBe("DENY");
  expect(h.get("referrer-policy")).toBe("no-referrer");
  const csp = h.get("content-security-policy") ?? "";
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(h.get("x-powered-by")).toBeNull();
}

/** A body sent as a stream, without Content-Length (chunked on the wire). */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
      controller.close();
    },
  });
}

describe("security headers", () => {
  it("every answer, success or error, is never framed, never sniffed and HSTS-pinned", async () => {
    const user = await registerUser();
    const answers = await Promise.all([
      api("/health"),
      api("/no/such/route"),
      api("/v1/me"),
      api("/v1/me", bearer(user.accessToken)),
      api("/dev/echo", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 404, 401, 200, 400]);
    for (const res of answers) expectApiHeaders(res);
  });

  it("/docs keeps its own strict CSP: scripts only from the Worker, no inline code, no CDN", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toBe(DOCS_CSP);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    for (const [, attrs, code] of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(code!.trim(), `inline script: ${attrs}`).toBe("");
    }
    expect(html).not.toMatch(/src="(https?:)?\/\//);
  });
});

describe("CORS allow-list", () => {
  it("echoes an allow-listed origin with credentials, and varies on Origin", async () => {
    const res = await api("/health", { headers: { origin: ALLOWED } });
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
  });

  it("never allows an origin that is not listed, and still varies on Origin", async () => {
    for (const origin of ["https://evil.test", "http://app.test.evil.test", "null", `${ALLOWED}:8080`]) {
      const res = await api("/health", { headers: { origin } });
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
      expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
    }
    const none = await api("/health");
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
    expect(none.headers.get("vary")).toMatch(/\bOrigin\b/);
  });

  it("answers a preflight from an allowed origin, and gives nothing to another one", async () => {
    const preflight = (origin: string) =>
      api("/v1/orgs", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const ok = await preflight(ALLOWED);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect(ok.headers.get("access-control-allow-headers")).toContain("Authorization");
    expect(ok.headers.get("access-control-max-age")).toBe("600");
    expect(ok.headers.get("vary")).toMatch(/\bOrigin\b/);
    const evil = await preflight("https://evil.test");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("body limits, per route, chunked bodies included", () => {
  const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    api(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const padded = (bytes: number) => JSON.stringify({ pad: "x".repeat(bytes - 10) });

  it("auth routes take at most 16 KiB, with or without Content-Length", async () => {
    const big = padded(16 * 1024 + 1);
    await expectProblem(await post("/v1/auth/login", big), 413, "payload_too_large");
    await expectProblem(await post("/v1/auth/login", chunked(big)), 413, "payload_too_large");
    // Just under the limit the request reaches validation (an unknown field: 400).
    await expectProblem(
      await post("/v1/auth/login", chunked(padded(16 * 1024 - 1))),
      400,
      "validation_failed",
    );
  });

  it("messages take at most 32 KiB; other JSON routes the configured 64 KiB", async () => {
    const roomId = crypto.randomUUID();
    await expectProblem(
      await post(`/v1/rooms/${roomId}/messages`, chunked(padded(32 * 1024 + 1))),
      413,
      "payload_too_large",
    );
    await expectProblem(await post("/v1/orgs", chunked(padded(64 * 1024 + 1))), 413, "payload_too_large");
    await expectProblem(await post("/v1/orgs", padded(40 * 1024)), 401, "unauthorized");
  });

  it("a longest message of 4-byte characters fits its route's limit", async () => {
    const { owner, room } = await roomFixture();
    const body = "🦜".repeat(2000); // 4,000 UTF-16 units (the maximum), 8 KB of UTF-8
    const res = await post(
      `/v1/rooms/${room.id}/messages`,
      chunked(JSON.stringify({ body, clientId: crypto.randomUUID() })),
      { authorization: `Bearer ${owner.accessToken}` },
    );
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { body: string }).body).toBe(body);
  });

  it("a chunked body under the limit is read whole", async () => {
    const res = await post("/dev/echo", chunked(JSON.stringify({ message: "streamed" })));
    expect(await res.json()).toEqual({ message: "streamed" });
  });
});

describe("JSON shape limits and prototype keys", () => {
  const echo = (body: string) =>
    api("/dev/echo", { method: "POST", headers: { "content-type": "application/json" }, body });
  const nested = (depth: number) => `{"message":"x","n":${"[".repeat(depth - 1)}1${"]".repeat(depth - 1)}}`;

  it("refuses nesting deeper than 16 levels and more than 512 keys, with a field path", async () => {
    const deep = await expectProblem(await echo(nested(17)), 400, "validation_failed");
    expect(deep.errors).toEqual([{ path: "(root)", message: "nested deeper than 16 levels" }]);
    const within = await expectProblem(await echo(nested(16)), 400, "validation_failed");
    expect(JSON.stringify(within.errors)).not.toContain("deeper"); // refused by the schema instead
    const keys = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`k${i}`, i]));
    const many = await expectProblem(
      await echo(JSON.stringify({ message: "x", keys })),
      400,
      "validation_failed",
    );
    expect(many.errors).toEqual([{ path: "(root)", message: "more than 512 keys" }]);
  });

  it("brackets and colons inside strings count for nothing", async () => {
    const message = `${"[{".repeat(50)}:::"\\"`;
    const res = await echo(JSON.stringify({ message }));
    expect(await res.json()).toEqual({ message });
  });

  it("__proto__, constructor and prototype keys are refused at any depth and pollute nothing", async () => {
    const bodies = [
      ['{"message":"x","__proto__":{"polluted":"yes"}}', "__proto__"],
      ['{"message":"x","\\u005f_proto__":{"polluted":"yes"}}', "__proto__"],
      ['{"message":"x","a":[{"constructor":{"prototype":{"polluted":"yes"}}}]}', "a.0.constructor"],
      ['{"message":"x","prototype":{}}', "prototype"],
    ] as const;
    for (const [body, path] of bodies) {
      const problem = await expectProblem(await echo(body), 400, "validation_failed");
      expect(problem.errors, body).toEqual([{ path, message: expect.stringContaining("not allowed") }]);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a lone surrogate in any string or key, before the route's schema", async () => {
    // /dev/echo's own schema is a plain z.string(): only the guard can refuse these.
    const bodies = [
      ['{"message":"x\\ud800"}', "message"],
      ['{"message":"x","a":[{"b":"\\udc00"}]}', "a.0.b"],
      ['{"message":"x","\\ud83d":1}', "\ufffd"],
    ] as const;
    for (const [body, path] of bodies) {
      const problem = await expectProblem(await echo(body), 400, "validation_failed");
      expect(problem.errors, body).toEqual([{ path, message: expect.stringContaining("well-formed") }]);
    }
    // A surrogate pair is one well-formed character.
    expect(await (await echo('{"message":"\\ud83e\\udd9c"}')).json()).toEqual({ message: "🦜" });
  });

  it("a JSON route refuses other media types with 415, whatever the body says", async () => {
    const login = JSON.stringify({ email: "a@example.test", password: "x" });
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      await expectProblem(
        await api("/v1/auth/login", { method: "POST", headers: { "content-type": type }, body: login }),
        415,
        "unsupported_media_type",
      );
    }
    const bytes = new TextEncoder().encode(login); // no Content-Type at all
    await expectProblem(
      await api("/v1/auth/login", { method: "POST", body: bytes }),
      415,
      "unsupported_media_type",
    );
  });
});

describe("one spelling per id", () => {
  it("refuses percent-encoded and upper-case aliases of an id", async () => {
    const { owner, room } = await roomFixture();
    expect((await api(`/v1/rooms/${room.id}`, bearer(owner.accessToken))).status).toBe(200);
    const encoded = [...room.id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join("");
    const aliases = [
      encoded,
      `%3${room.id.slice(0, 1)}${room.id.slice(1)}`,
      room.id.toUpperCase(),
      `${room.id}%0A`,
    ];
    for (const alias of aliases) {
      const res = await api(`/v1/rooms/${alias}`, bearer(owner.accessToken));
      await expectProblem(res, 400, "validation_failed");
    }
    const res = await api(
      `/v1/rooms/${room.id}/messages`,
      jsonBody({ body: "x", clientId: "1.00" }, bearer(owner.accessToken)),
    );
    await expectProblem(res, 400, "validation_failed");
  });
});
