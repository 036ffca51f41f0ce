import { describe, expect, it } from "vitest";
import { debugAction } from "../../party/debug.ts";

/** The parties' debug hooks (party/debug.ts) exist in development and test only. */
const env = (ENVIRONMENT?: string) => ({
  API_URL: "http://127.0.0.1:8787",
  SERVICE_TOKEN: "s".repeat(32),
  ...(ENVIRONMENT ? { ENVIRONMENT } : {}),
});
const req = (action: string) => ({ headers: new Headers({ "x-petrel-debug": action }) }) as never;

describe("party debug hooks", () => {
  it("answer in development and test", () => {
    for (const e of ["development", "test"])
      for (const a of ["boom", "instance", "rebuild"]) expect(debugAction(req(a), env(e))).toBe(a);
  });

  it("are ignored in production, staging, or with ENVIRONMENT unset, and for unknown actions", () => {
    for (const e of [undefined, "staging", "production"])
      for (const a of ["boom", "instance", "rebuild"]) expect(debugAction(req(a), env(e))).toBeUndefined();
    expect(debugAction(req("drop-tables"), env("test"))).toBeUndefined();
  });
});
