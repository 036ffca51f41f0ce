import { beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../src/app.ts";
import { uuidv7 } from "../src/lib/ids.ts";
import { SERVICE_AUTH_HEADER } from "../src/shared/realtime.ts";
import { api, jsonBody } from "./helpers/api.ts";
import { registerUser } from "./helpers/users.ts";

/**
 * Checks of the OpenAPI document the Worker really serves (GET /openapi.json through the Worker
 * in workerd), not of a copy built elsewhere: its validity, its routes, and the security each
 * operation declares, probed against the Worker.
 */
interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: object }>;
  tags?: string[];
}
interface Document {
  security?: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

/**
 * The deliberately public operations and the exact security each declares (`undefined`: none).
 * Every other operation needs a bearer token, or (under /v1/internal/) the service credential.
 */
const PUBLIC: Record<string, Operation["security"]> = {
  "GET /health": undefined,
  "GET /ready": undefined,
  "GET /.well-known/jwks.json": undefined,
  "POST /v1/auth/register": undefined,
  "POST /v1/auth/login": undefined,
  // The refresh token comes in the body or in the cookie: never a bearer token.
  "POST /v1/auth/refresh": [{}, { refreshCookie: [] }],
  "POST /v1/auth/verify-email": undefined,
  "POST /v1/auth/password/forgot": undefined,
  "POST /v1/auth/password/reset": undefined,
  "GET /v1/auth/oauth/{provider}/start": undefined,
  "GET /v1/auth/oauth/{provider}/callback": undefined,
  "POST /v1/auth/oauth/exchange": undefined,
  // Authorised by the signed URL itself (no bearer header, so <img> and plain PUTs work).
  "PUT /v1/files/{fileId}/content": undefined,
  "GET /v1/files/{fileId}/content": undefined,
};
const INTERNAL = /^\/v1\/internal\//;
const BEARER = [{ bearerAuth: [] }];
const SERVICE = [{ serviceToken: [] }];

/** Routes that are deliberately not in the public document. */
const EXCLUDED = [/^\/openapi\.json$/, /^\/docs/, /^\/dev\//, /^\/bench\//];
const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

let served: Response;
let doc: Document;
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method,
      path,
      op,
    })),
  );

/** Validated in Node (tests/setup/global-setup.ts): the validator compiles code, workerd forbids that. */
async function validateInNode(text: string): Promise<{ valid: boolean; errors: unknown[] }> {
  const res = await fetch(`${inject("controlUrl")}/openapi/validate`, { method: "POST", body: text });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { valid: boolean; errors: unknown[] };
}

/** A request to `op` with every path parameter filled with a well-formed id and, where it takes one, a JSON body. */
function probe(op: { method: string; path: string }, headers: Record<string, string>) {
  const path = op.path.replace(/\{[^}]+\}/g, () => uuidv7());
  const init = { method: op.method.toUpperCase(), headers };
  return api(path, ["get", "delete"].includes(op.method) ? init : jsonBody({}, init));
}

/**
 * "" when `res` is a 401 problem with code `unauthorized`, else what is wrong. With `challenge`,
 * it must carry `WWW-Authenticate: Bearer`, which only requireAuth() sends: the route refused the
 * caller up front, not later through a handler's own fallback (after validation, say).
 */
async function unauthorized(res: Response, challenge: boolean): Promise<string> {
  const text = await res.text();
  if (res.status !== 401) return `${res.status} ${text.slice(0, 120)}`;
  if (res.headers.get("content-type") !== "application/problem+json") return "not problem+json";
  if (challenge && !/^Bearer /.test(res.headers.get("www-authenticate") ?? "")) return "no Bearer challenge";
  const code = (JSON.parse(text) as { code?: string }).code;
  return code === "unauthorized" ? "" : `code ${code}`;
}

beforeAll(async () => {
  served = await api("/openapi.json");
  doc = (await served.clone().json()) as Document;
});

describe("the OpenAPI document the Worker serves", () => {
  it("is served as JSON and is a valid OpenAPI 3.1 document", async () => {
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toMatch(/^application\/json/);
    const result = await validateInNode(await served.clone().text());
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does reject a broken document (this check is not vacuous).
    const broken = await validateInNode(JSON.stringify({ openapi: "3.1.0", info: { title: 1 }, paths: {} }));
    expect(broken.valid).toBe(false);
  });

  it("lists every route the app serves, and nothing else", () => {
    const routes = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL" && !EXCLUDED.some((re) => re.test(r.path)))
        .map((r) => `${r.method} ${toOpenApiPath(r.path)}`),
    );
    const documented = new Set(operations().map((o) => o.key));
    expect([...routes].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !routes.has(r)).sort()).toEqual([]);
    expect(routes.size).toBeGreaterThan(40);
  });

  it("tags every operation and answers errors with problem+json", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(40);
    for (const { key, path, op } of ops) {
      expect(op.tags?.length, `${key} has a tag`).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(op.responses)) {
        // /ready's 503 is the readiness report itself, not an error document.
        if (Number(status) >= 400 && path !== "/ready") {
          expect(Object.keys(response.content ?? {}), `${key} ${status}`).toEqual([
            "application/problem+json",
          ]);
        }
      }
    }
  });

  it("declares on every operation the security it must have: public allow-list, service token, else bearer", () => {
    expect(doc.security, "no document-wide default that operations would inherit").toBeUndefined();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      "bearerAuth",
      "refreshCookie",
      "serviceToken",
    ]);
    const counts = { public: 0, internal: 0, bearer: 0 };
    for (const { key, path, op } of operations()) {
      if (Object.hasOwn(PUBLIC, key)) {
        expect(op.security, key).toEqual(PUBLIC[key]);
        counts.public++;
      } else if (INTERNAL.test(path)) {
        expect(op.security, key).toEqual(SERVICE);
        counts.internal++;
      } else {
        expect(op.security, `${key} is not in the public allow-list, so it needs bearerAuth`).toEqual(BEARER);
        counts.bearer++;
      }
    }
    // Every allow-list entry is a real operation (no stale entry hides a renamed route).
    expect(counts.public).toBe(Object.keys(PUBLIC).length);
    expect(counts.internal).toBeGreaterThanOrEqual(4);
    expect(counts.bearer).toBeGreaterThan(40);
  });

  it("every operation that declares bearerAuth refuses (401, requireAuth) no token and a bad one", async () => {
    const ops = operations().filter((o) => JSON.stringify(o.op.security) === JSON.stringify(BEARER));
    expect(ops.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const op of ops) {
      const none = await unauthorized(await probe(op, {}), true);
      if (none) failures.push(`${op.key} without a token: ${none}`);
      const bad = await unauthorized(await probe(op, { authorization: "Bearer not.a-real.token" }), true);
      if (bad) failures.push(`${op.key} with a bad token: ${bad}`);
    }
    expect(failures).toEqual([]);
  });

  it("every operation that declares serviceToken refuses users' tokens and a wrong credential", async () => {
    const user = await registerUser();
    const ops = operations().filter((o) => JSON.stringify(o.op.security) === JSON.stringify(SERVICE));
    expect(ops.length).toBeGreaterThanOrEqual(4);
    const failures: string[] = [];
    const callers: Record<string, Record<string, string>> = {
      "no credential": {},
      "a user's bearer token": { authorization: `Bearer ${user.accessToken}` },
      "a user's token as the service credential": { [SERVICE_AUTH_HEADER]: user.accessToken },
      "a wrong service credential": { [SERVICE_AUTH_HEADER]: "not-the-service-token" },
    };
    for (const op of ops) {
      for (const [who, headers] of Object.entries(callers)) {
        const problem = await unauthorized(await probe(op, headers), false);
        if (problem) failures.push(`${op.key} with ${who}: ${problem}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
