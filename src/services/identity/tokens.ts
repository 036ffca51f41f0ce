import { errors, exportJWK, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { PrivateJwk } from "../../config/jwt-keys.ts";
import type { Config } from "../../config.ts";
import { ApiError } from "../../lib/errors.ts";

/**
 * Access tokens: EdDSA (Ed25519) JWTs with `kid` and `typ: at+jwt`. Several keys may be live:
 * the first key of JWT_PRIVATE_KEYS signs, every key verifies and is published in the JWKS.
 * The keys were checked when the configuration was parsed (src/config/jwt-keys.ts).
 */
export interface AccessClaims {
  sub: string;
  sid: string;
  role: "user" | "admin";
}

interface KeyRing {
  signingKid: string;
  signingKey: CryptoKey;
  verifyKeys: Map<string, CryptoKey>;
  jwks: { keys: JWK[] };
}

const rings = new Map<string, Promise<KeyRing>>();
/** The same rings by configuration object (one per isolate): no key-text hashing per request. */
const ringsOf = new WeakMap<Config, Promise<KeyRing>>();

async function buildRing(list: readonly PrivateJwk[]): Promise<KeyRing> {
  const verifyKeys = new Map<string, CryptoKey>();
  const publics: JWK[] = [];
  let signingKey: CryptoKey | undefined;
  for (const [i, jwk] of list.entries()) {
    const { d: _d, ...pub } = jwk;
    const publicJwk: JWK = { ...pub, alg: "EdDSA", use: "sig" };
    verifyKeys.set(jwk.kid, (await importJWK(publicJwk, "EdDSA")) as CryptoKey);
    publics.push(
      await exportJWK(verifyKeys.get(jwk.kid)!).then((k) => ({
        ...k,
        kid: jwk.kid,
        alg: "EdDSA",
        use: "sig",
      })),
    );
    if (i === 0) signingKey = (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey;
  }
  return { signingKid: list[0]!.kid, signingKey: signingKey!, verifyKeys, jwks: { keys: publics } };
}

/** Imported once per isolate and key set. */
export function keyRing(config: Config): Promise<KeyRing> {
  const known = ringsOf.get(config);
  if (known) return known;
  // Keyed by the keys' text: configs parsed from equal bindings share one ring.
  const id = JSON.stringify(config.JWT_PRIVATE_KEYS);
  let ring = rings.get(id);
  if (!ring) {
    ring = buildRing(config.JWT_PRIVATE_KEYS);
    ring.catch(() => {
      rings.delete(id);
      ringsOf.delete(config);
    });
    rings.set(id, ring);
  }
  ringsOf.set(config, ring);
  return ring;
}

export async function signAccessToken(config: Config, claims: AccessClaims): Promise<string> {
  const ring = await keyRing(config);
  return new SignJWT({ sid: claims.sid, role: claims.role })
    .setProtectedHeader({ alg: "EdDSA", kid: ring.signingKid, typ: "at+jwt" })
    .setSubject(claims.sub)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${config.ACCESS_TOKEN_TTL}s`)
    .setJti(crypto.randomUUID())
    .sign(ring.signingKey);
}

type VerifiedClaims = AccessClaims & { exp: number };

/**
 * Tokens this isolate has verified, per configuration (keys, issuer, audience, lifetimes), until
 * they expire: a client sends the same access token for its whole lifetime, and verifying it
 * (base64, JSON, claims, an Ed25519 signature) was the largest cost of a cached read. Keyed by
 * the token's exact text, so only a token that passed every check once is ever answered from
 * here. Revocation is not cached: it is checked on every request (authenticate()).
 */
const verified = new WeakMap<Config, Map<string, VerifiedClaims>>();
export const MAX_VERIFIED_TOKENS = 5000;

/**
 * Verify an access token (RFC 8725): algorithm pinned, key chosen by `kid` from our own ring
 * only (no jku/x5u/jwk header is ever followed), iss/aud/typ checked, exp/iat/sub/sid required,
 * exp finite and within the lifetime cap, small clock skew tolerated. A token verified before is
 * answered from the isolate's cache while it has not expired (same skew as the verifier's).
 */
export async function verifyAccessToken(config: Config, token: string): Promise<VerifiedClaims> {
  let cache = verified.get(config);
  const hit = cache?.get(token);
  if (hit) {
    if (Date.now() / 1000 - config.CLOCK_SKEW_SECONDS < hit.exp) return hit;
    cache!.delete(token); // expired: the verifier answers token_expired
  }
  const claims = Object.freeze(await verifySignedToken(config, token));
  if (!cache) {
    cache = new Map();
    verified.set(config, cache);
  }
  // Oldest first out: Map keeps insertion order.
  if (cache.size >= MAX_VERIFIED_TOKENS) cache.delete(cache.keys().next().value!);
  cache.set(token, claims);
  return claims;
}

async function verifySignedToken(config: Config, token: string): Promise<VerifiedClaims> {
  const ring = await keyRing(config);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? ring.verifyKeys.get(header.kid) : undefined;
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      {
        algorithms: ["EdDSA"],
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        typ: "at+jwt",
        requiredClaims: ["exp", "iat", "sub", "sid", "jti"],
        clockTolerance: config.CLOCK_SKEW_SECONDS,
      },
    ));
  } catch (err) {
    if (err instanceof errors.JWTExpired)
      throw new ApiError("token_expired", "The access token has expired.");
    throw new ApiError("unauthorized", "The access token is invalid.");
  }
  const { exp, iat, sub, sid, role } = payload as JWTPayload & { sid?: unknown; role?: unknown };
  const maxLifetime = config.ACCESS_TOKEN_TTL + config.CLOCK_SKEW_SECONDS;
  if (
    typeof exp !== "number" ||
    typeof iat !== "number" ||
    !Number.isFinite(exp) ||
    !Number.isFinite(iat) ||
    exp - iat > maxLifetime ||
    iat > Date.now() / 1000 + config.CLOCK_SKEW_SECONDS ||
    typeof sub !== "string" ||
    typeof sid !== "string" ||
    (role !== "user" && role !== "admin")
  ) {
    throw new ApiError("unauthorized", "The access token is invalid.");
  }
  return { sub, sid, role, exp };
}
