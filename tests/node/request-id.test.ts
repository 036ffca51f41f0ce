import { describe, expect, it } from "vitest";
import { requestIdOf } from "../../party/observability.ts";
import { REQUEST_ID_PATTERN, requestIdOr } from "../../src/lib/request-id.ts";

/** One X-Request-Id rule (API.md: 1–128 of [A-Za-z0-9._-]) for the API and the parties. */
describe("request id rule", () => {
  it("echoes a well-formed id, up to 128 characters", () => {
    for (const id of ["a", "req-1.2_3", "x".repeat(128)]) expect(requestIdOr(id)).toBe(id);
  });

  it("replaces a missing, too long or ill-formed id with a fresh UUID", () => {
    for (const id of [undefined, null, "", "x".repeat(129), "a b", "a/b", "ü", "a\n"]) {
      const got = requestIdOr(id);
      expect(got).not.toBe(id);
      expect(got).toMatch(/^[0-9a-f-]{36}$/);
      expect(got).toMatch(REQUEST_ID_PATTERN);
    }
  });

  it("the parties read the header through the same rule", () => {
    const headers = (id: string) => ({ headers: new Headers({ "x-request-id": id }) });
    expect(requestIdOf(headers("from-the-api.1"))).toBe("from-the-api.1");
    expect(requestIdOf(headers("x".repeat(129)))).not.toBe("x".repeat(129));
  });
});
