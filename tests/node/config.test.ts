import { beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey, randomSecret } from "../../scripts/lib/secrets.ts";
import { parseConfig } from "../../src/config.ts";
import { configIssues } from "../helpers/config-issues.ts";

/**
 * The Worker's configuration is complete once parsed (src/config.ts): JSON settings and
 * cross-checks are refused there, naming the variable, not on first use.
 */
let base: Record<string, string>;
let key: Record<string, unknown>;
beforeAll(async () => {
  key = await generateSigningKey();
  base = {
    ENVIRONMENT: "test",
    LIBSQL_URL: "http://127.0.0.1:8080",
    PARTYKIT_URL: "http://127.0.0.1:1999",
    PUBLIC_API_URL: "http://127.0.0.1:8787",
    APP_URL: "http://127.0.0.1:8787/app",
    JWT_ISSUER: "http://127.0.0.1:8787",
    JWT_AUDIENCE: "petrel",
    JWT_PRIVATE_KEYS: JSON.stringify([key]),
    SERVER_SECRET: randomSecret(),
    SERVICE_TOKEN: randomSecret(),
  };
});

const issues = (overrides: Record<string, string | undefined>) =>
  configIssues(() => parseConfig({ ...base, ...overrides }));

describe("configuration: complete at parse time", () => {
  it("a valid configuration parses, with JSON settings already parsed", () => {
    const provider = { id: "gh", type: "github", clientId: "c", clientSecret: "s" };
    const c = parseConfig({ ...base, OAUTH_PROVIDERS: JSON.stringify([provider]) });
    expect(c.JWT_PRIVATE_KEYS.map((k) => k.kid)).toEqual([key.kid]);
    expect(c.OAUTH_PROVIDERS.get("gh")).toMatchObject({ ...provider, timeoutMs: 5000 });
    expect(parseConfig(base).OAUTH_PROVIDERS.size).toBe(0);
    expect(parseConfig({ ...base, OAUTH_PROVIDERS: "  " }).OAUTH_PROVIDERS.size).toBe(0);
    expect(parseConfig(base).s3).toBeUndefined();
    // A single key object (not an array) is still accepted, as before.
    expect(parseConfig({ ...base, JWT_PRIVATE_KEYS: JSON.stringify(key) }).JWT_PRIVATE_KEYS).toHaveLength(1);
  });

  it("refuses a bad JWT_PRIVATE_KEYS, naming it", () => {
    const { d: _d, ...publicOnly } = key;
    expect(issues({ JWT_PRIVATE_KEYS: undefined })).toEqual(["JWT_PRIVATE_KEYS is missing"]);
    expect(issues({ JWT_PRIVATE_KEYS: "[{" })).toEqual(["JWT_PRIVATE_KEYS is not valid JSON"]);
    expect(issues({ JWT_PRIVATE_KEYS: "[]" })).toEqual(["JWT_PRIVATE_KEYS is empty"]);
    for (const bad of [publicOnly, { ...key, kid: "" }, { ...key, crv: "P-256" }, { ...key, d: "short" }]) {
      expect(issues({ JWT_PRIVATE_KEYS: JSON.stringify([key, bad]) })).toEqual([
        "JWT_PRIVATE_KEYS[1] must be a private Ed25519 JWK with a kid",
      ]);
    }
  });

  it("refuses a bad OAUTH_PROVIDERS, naming it and the provider's field", () => {
    expect(issues({ OAUTH_PROVIDERS: "not json" })).toEqual([
      "OAUTH_PROVIDERS must be a JSON array of providers",
    ]);
    const noIssuer = [{ id: "x", type: "oidc", clientId: "c", clientSecret: "s" }];
    expect(issues({ OAUTH_PROVIDERS: JSON.stringify(noIssuer) })).toEqual([
      expect.stringMatching(/^OAUTH_PROVIDERS\[0\]\[issuer\] /),
    ]);
    const badId = [{ id: "Not OK", type: "github", clientId: "c", clientSecret: "s" }];
    expect(issues({ OAUTH_PROVIDERS: JSON.stringify(badId) })).toEqual([
      "OAUTH_PROVIDERS[0][id] must be 1-32 characters of a-z, 0-9, _ and -",
    ]);
  });

  it("refuses STORAGE_DRIVER=s3 without its S3_* settings, naming each", () => {
    expect(issues({ STORAGE_DRIVER: "s3", S3_ACCESS_KEY_ID: "id" })).toEqual([
      "S3_BUCKET is missing (required with STORAGE_DRIVER=s3)",
      "S3_SECRET_ACCESS_KEY is missing (required with STORAGE_DRIVER=s3)",
    ]);
    const s3 = { S3_BUCKET: "b", S3_ACCESS_KEY_ID: "id", S3_SECRET_ACCESS_KEY: "secret" };
    expect(issues({ STORAGE_DRIVER: "s3", ...s3, S3_ENDPOINT: "not a url" })).toEqual([
      expect.stringMatching(/^S3_ENDPOINT /),
    ]);
    expect(parseConfig({ ...base, STORAGE_DRIVER: "s3", ...s3 }).s3).toEqual({
      endpoint: undefined,
      region: "auto",
      bucket: "b",
      accessKeyId: "id",
      secretAccessKey: "secret",
    });
  });

  it("keeps the other rules: a missing variable and the Redis pair are named", () => {
    expect(issues({ LIBSQL_URL: undefined })).toEqual(["LIBSQL_URL is missing"]);
    expect(issues({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079" })).toEqual([
      "UPSTASH_REDIS_REST_TOKEN is missing (required with UPSTASH_REDIS_REST_URL)",
    ]);
    expect(issues({ ENVIRONMENT: "prod" })).toEqual([expect.stringMatching(/^ENVIRONMENT /)]);
  });
});
