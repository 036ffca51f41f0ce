import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../src/config.ts";
import { ApiError } from "../src/lib/errors.ts";
import { MAX_VERIFIED_TOKENS, signAccessToken, verifyAccessToken } from "../src/services/identity/tokens.ts";

/**
 * The per-isolate cache of verified access tokens (src/services/identity/tokens.ts): only a
 * token that passed verification is answered from it, and only until it expires.
 */
const bindings = env as unknown as Record<string, unknown>;
const freshConfig = (over: Record<string, string> = {}) => parseConfig({ ...bindings, ...over });
const claims = () => ({ sub: crypto.randomUUID(), sid: crypto.randomUUID(), role: "user" as const });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (err: unknown) => (err instanceof ApiError ? err.code : `threw ${String(err)}`),
  );

afterEach(() => {
  vi.useRealTimers();
});

describe("verified-token cache", () => {
  it("answers a verified token again until it expires, then token_expired", async () => {
    const config = freshConfig({ ACCESS_TOKEN_TTL: "60", CLOCK_SKEW_SECONDS: "5" });
    const c = claims();
    const token = await signAccessToken(config, c);
    const first = await verifyAccessToken(config, token);
    expect(first).toMatchObject(c);
    expect(await verifyAccessToken(config, token)).toEqual(first);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 64_000); // within the skew after exp: still valid
    expect(await codeOf(verifyAccessToken(config, token))).toBe("accepted");
    vi.setSystemTime(Date.now() + 2_000); // past exp + skew
    expect(await codeOf(verifyAccessToken(config, token))).toBe("token_expired");
    expect(await codeOf(verifyAccessToken(config, token))).toBe("token_expired");
  });

  it("never caches a refusal: a tampered token is refused every time, the real one still passes", async () => {
    const config = freshConfig();
    const token = await signAccessToken(config, claims());
    const [h, p, sig] = token.split(".");
    const flipped = `${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BA" : "AA"}`;
    const tampered = `${h}.${p}.${flipped}`;
    expect(await codeOf(verifyAccessToken(config, tampered))).toBe("unauthorized");
    expect(await codeOf(verifyAccessToken(config, token))).toBe("accepted");
    expect(await codeOf(verifyAccessToken(config, tampered))).toBe("unauthorized");
  });

  it("is per configuration: another audience does not accept a token this one verified", async () => {
    const config = freshConfig();
    const token = await signAccessToken(config, claims());
    expect(await codeOf(verifyAccessToken(config, token))).toBe("accepted");
    const other = freshConfig({ JWT_AUDIENCE: "someone-else" });
    expect(await codeOf(verifyAccessToken(other, token))).toBe("unauthorized");
  });

  it("is bounded: past the limit the oldest entries are verified again, and still pass", async () => {
    const config = freshConfig();
    const first = await signAccessToken(config, claims());
    await verifyAccessToken(config, first);
    const sign = () => signAccessToken(config, claims());
    for (let i = 0; i < MAX_VERIFIED_TOKENS; i++) await verifyAccessToken(config, await sign());
    expect(await codeOf(verifyAccessToken(config, first))).toBe("accepted");
  });
});
