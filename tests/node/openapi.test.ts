import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { OPENAPI_INFO } from "../../src/routes/docs/docs.routes.ts";

// The same document GET /openapi.json serves (the Worker builds it from the same app).
const app = createApp();
const doc = app.getOpenAPI31Document(OPENAPI_INFO) as unknown as {
  paths: Record<
    string,
    Record<string, { security?: unknown[]; responses: Record<string, unknown>; tags?: string[] }>
  >;
  components: { securitySchemes: Record<string, unknown> };
};

/** Routes that are deliberately not in the public document. */
const EXCLUDED = [/^\/openapi\.json$/, /^\/docs/, /^\/dev\//, /^\/bench\//];
const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does reject a broken document (this check is not vacuous).
    const broken = await new Validator().validate({
      openapi: "3.1.0",
      info: { title: 1 },
      paths: {},
    } as never);
    expect(broken.valid).toBe(false);
  });

  it("lists every route the app serves, and nothing else", () => {
    const served = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && !EXCLUDED.some((re) => re.test(r.path)))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
    );
    expect([...served].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort()).toEqual([]);
    expect(served.size).toBeGreaterThan(40);
  });

  it("declares security that exists on every authenticated route, and problem+json errors", () => {
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const requirement of op.security ?? []) {
          for (const name of Object.keys(requirement as object))
            expect(schemes, `${method} ${path}`).toContain(name);
        }
        expect(op.tags?.length, `${method} ${path} has a tag`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(op.responses)) {
          // /ready's 503 is the readiness report itself, not an error document.
          if (Number(status) >= 400 && path !== "/ready") {
            expect(
              Object.keys((response as { content?: object }).content ?? {}),
              `${method} ${path} ${status}`,
            ).toEqual(["application/problem+json"]);
          }
        }
      }
    }
    expect(doc.paths["/v1/me"]?.get?.security).toEqual([{ bearerAuth: [] }]);
  });
});
