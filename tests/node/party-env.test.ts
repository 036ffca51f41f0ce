import { describe, expect, it } from "vitest";
import { envOf, parsePartyEnv } from "../../party/env.ts";
import { configIssues } from "../helpers/config-issues.ts";

/** The parties' variables are parsed once per isolate (party/env.ts), each problem named. */
const jwks = { keys: [{ kty: "OKP", crv: "Ed25519", kid: "k1", x: "x".repeat(43) }] };
const base = {
  API_URL: "http://127.0.0.1:8787",
  JWT_ISSUER: "http://127.0.0.1:8787",
  JWT_PUBLIC_JWKS: JSON.stringify(jwks),
  SERVICE_TOKEN: "s".repeat(32),
  ENVIRONMENT: "test",
};

const issues = (overrides: Record<string, unknown>) =>
  configIssues(() => parsePartyEnv({ ...base, ...overrides }));

describe("party environment", () => {
  it("parses a valid environment, JWKS as text or as the CLI's parsed object", () => {
    const env = parsePartyEnv(base);
    expect(env).toMatchObject({ API_URL: base.API_URL, JWT_PUBLIC_JWKS: jwks, MAX_FRAMES_PER_SECOND: 40 });
    expect(env.SENTRY_DSN).toBeUndefined();
    expect(parsePartyEnv({ ...base, JWT_PUBLIC_JWKS: jwks }).JWT_PUBLIC_JWKS).toEqual(jwks);
    expect(parsePartyEnv({ ...base, MAX_FRAMES_PER_SECOND: 100_000 }).MAX_FRAMES_PER_SECOND).toBe(100_000);
    const bare = parsePartyEnv({ ...base, JWT_PUBLIC_JWKS: undefined, ENVIRONMENT: undefined });
    expect(bare.JWT_PUBLIC_JWKS).toBeUndefined();
    expect(bare.ENVIRONMENT).toBeUndefined();
  });

  it("refuses a bad value of each variable, naming it", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ API_URL: undefined }, /^API_URL is missing$/],
      [{ API_URL: "not a url" }, /^API_URL /],
      [{ JWT_PUBLIC_JWKS: "{nope" }, /^JWT_PUBLIC_JWKS must be a JSON Web Key Set$/],
      [{ JWT_PUBLIC_JWKS: JSON.stringify({ keys: [] }) }, /^JWT_PUBLIC_JWKS\[keys\] /],
      [{ JWT_ISSUER: 42 }, /^JWT_ISSUER /],
      [{ SERVICE_TOKEN: undefined }, /^SERVICE_TOKEN is missing$/],
      [{ SERVICE_TOKEN: "short" }, /^SERVICE_TOKEN must be at least 32 characters/],
      [{ MAX_FRAMES_PER_SECOND: "many" }, /^MAX_FRAMES_PER_SECOND /],
      [{ MAX_FRAMES_PER_SECOND: "0" }, /^MAX_FRAMES_PER_SECOND /],
      [{ SENTRY_DSN: "not a url" }, /^SENTRY_DSN /],
      [{ SENTRY_RELEASE: 7 }, /^SENTRY_RELEASE /],
      [{ ENVIRONMENT: "prod" }, /^ENVIRONMENT /],
    ];
    for (const [overrides, message] of cases)
      expect(issues(overrides)).toEqual([expect.stringMatching(message)]);
  });

  it("parses once per env object", () => {
    const env = { ...base };
    expect(envOf(env)).toBe(envOf(env));
    expect(envOf({ ...base })).not.toBe(envOf(env));
  });
});
