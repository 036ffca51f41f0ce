import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { base64url } from "../src/lib/crypto.ts";
import { api } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser } from "./helpers/users.ts";

// RFC 8725 attack catalogue against the real verifier, through the Worker.
const bindings = env as unknown as Record<string, string>;
const [signingJwk] = JSON.parse(bindings.JWT_PRIVATE_KEYS!) as JWK[];
const ISS = bindings.JWT_ISSUER!;
const AUD = bindings.JWT_AUDIENCE!;
const enc = new TextEncoder();
const b64 = (s: string) => base64url(enc.encode(s));

async function signRaw(header: object, payloadJson: string, jwk: JWK = signingJwk!): Promise<string> {
  const key = (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey;
  const input = `${b64(JSON.stringify(header))}.${b64(payloadJson)}`;
  const sig = await crypto.subtle.sign("Ed25519", key, enc.encode(input));
  return `${input}.${base64url(sig)}`;
}

const now = () => Math.floor(Date.now() / 1000);
function claims(sub: string, over: Record<string, unknown> = {}) {
  return {
    sub,
    sid: crypto.randomUUID(),
    role: "user",
    iss: ISS,
    aud: AUD,
    iat: now(),
    exp: now() + 600,
    jti: crypto.randomUUID(),
    ...over,
  };
}
const header = (over: Record<string, unknown> = {}) => ({
  alg: "EdDSA",
  typ: "at+jwt",
  kid: signingJwk!.kid,
  ...over,
});

describe("access-token verification (RFC 8725)", () => {
  it("accepts a genuine token (control)", async () => {
    const u = await registerUser();
    expect((await api("/v1/me", bearer(u.accessToken))).status).toBe(200);
  });

  const attacks: Array<[string, (sub: string, genuine: string) => Promise<string>]> = [
    [
      "alg none",
      async (sub) => `${b64(JSON.stringify(header({ alg: "none" })))}.${b64(JSON.stringify(claims(sub)))}.`,
    ],
    [
      "HS256 signed with the public key",
      async (sub) => {
        const { d: _d, ...pub } = signingJwk!;
        const secret = enc.encode(JSON.stringify(pub));
        return new SignJWT(claims(sub))
          .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: signingJwk!.kid })
          .sign(secret);
      },
    ],
    ["nbf in the future", (sub) => signRaw(header(), JSON.stringify(claims(sub, { nbf: now() + 3600 })))],
    ["wrong iss", (sub) => signRaw(header(), JSON.stringify(claims(sub, { iss: "https://evil.example" })))],
    ["wrong aud", (sub) => signRaw(header(), JSON.stringify(claims(sub, { aud: "someone-else" })))],
    ["wrong typ", (sub) => signRaw(header({ typ: "JWT" }), JSON.stringify(claims(sub)))],
    ["unknown kid", (sub) => signRaw(header({ kid: "no-such-key" }), JSON.stringify(claims(sub)))],
    [
      "tampered payload",
      async (_sub, genuine) => {
        const [h, p, s] = genuine.split(".");
        const payload = JSON.parse(atob(p!.replaceAll("-", "+").replaceAll("_", "/"))) as Record<
          string,
          unknown
        >;
        payload.role = "admin";
        return `${h}.${b64(JSON.stringify(payload))}.${s}`;
      },
    ],
    [
      "valid signature from another key with our kid",
      async (sub) => {
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
        const other = { ...(await exportJWK(privateKey)), kid: signingJwk!.kid };
        return signRaw(header(), JSON.stringify(claims(sub)), other);
      },
    ],
    ["missing sub", (sub) => signRaw(header(), JSON.stringify({ ...claims(sub), sub: undefined }))],
    ["missing sid", (sub) => signRaw(header(), JSON.stringify({ ...claims(sub), sid: undefined }))],
    [
      "exp of 1e400",
      (sub) => signRaw(header(), JSON.stringify(claims(sub)).replace(/"exp":\d+/, '"exp":1e400')),
    ],
    [
      "lifetime above the cap",
      (sub) => signRaw(header(), JSON.stringify(claims(sub, { exp: now() + 10 * 365 * 86400 }))),
    ],
    [
      "iat in the future",
      (sub) => signRaw(header(), JSON.stringify(claims(sub, { iat: now() + 3600, exp: now() + 3900 }))),
    ],
    ["role outside the enum", (sub) => signRaw(header(), JSON.stringify(claims(sub, { role: "root" })))],
  ];

  it.each(attacks)("rejects %s with 401 unauthorized", async (_name, forge) => {
    const u = await registerUser();
    const token = await forge(u.id, u.accessToken);
    const res = await api("/v1/me", bearer(token));
    await expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("answers an expired token with 401 token_expired", async () => {
    const u = await registerUser();
    const token = await signRaw(
      header(),
      JSON.stringify(claims(u.id, { iat: now() - 1000, exp: now() - 600 })),
    );
    await expectProblem(await api("/v1/me", bearer(token)), 401, "token_expired");
  });

  it("tolerates a few seconds of clock skew on exp, not more", async () => {
    const u = await registerUser();
    const [, p] = u.accessToken.split(".");
    const { sid } = JSON.parse(atob(p!.replaceAll("-", "+").replaceAll("_", "/"))) as { sid: string };
    const skewed = await signRaw(
      header(),
      JSON.stringify(claims(u.id, { sid, iat: now() - 900, exp: now() - 5 })),
    );
    expect((await api("/v1/me", bearer(skewed))).status).toBe(200);
    const late = await signRaw(
      header(),
      JSON.stringify(claims(u.id, { sid, iat: now() - 960, exp: now() - 60 })),
    );
    await expectProblem(await api("/v1/me", bearer(late)), 401, "token_expired");
  });

  it("rejects a malformed Authorization header and a missing one with 401", async () => {
    await expectProblem(
      await api("/v1/me", { headers: { authorization: "Basic abc" } }),
      401,
      "unauthorized",
    );
    await expectProblem(
      await api("/v1/me", { headers: { authorization: "Bearer not.a" } }),
      401,
      "unauthorized",
    );
    await expectProblem(await api("/v1/me"), 401, "unauthorized");
  });

  it("publishes the signing key in the JWKS without its private part", async () => {
    const res = await api("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toEqual([
      expect.objectContaining({
        kid: signingJwk!.kid,
        kty: "OKP",
        crv: "Ed25519",
        alg: "EdDSA",
        x: signingJwk!.x,
      }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });
});
