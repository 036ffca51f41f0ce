import type { JWK } from "jose";
import { z } from "zod";
import { fromJson } from "./settings.ts";

/** A private Ed25519 JWK as `npm run keys:generate` makes it. */
export type PrivateJwk = JWK & { kid: string; d: string; x: string };

// Ed25519 keys are 32 bytes: 43 characters of unpadded base64url.
const KEY_BYTES = /^[A-Za-z0-9_-]{43}$/;

function isPrivateEd25519(value: unknown): value is PrivateJwk {
  const k = (value ?? {}) as Record<string, unknown>;
  return (
    typeof value === "object" &&
    k.kty === "OKP" &&
    k.crv === "Ed25519" &&
    typeof k.kid === "string" &&
    k.kid !== "" &&
    typeof k.d === "string" &&
    KEY_BYTES.test(k.d) &&
    typeof k.x === "string" &&
    KEY_BYTES.test(k.x)
  );
}

/**
 * JWT_PRIVATE_KEYS: a JSON array (or a single object) of private Ed25519 JWKs. The first key
 * signs; every key verifies and is published in the JWKS. Importing them (WebCrypto, async)
 * happens on first use, but a value that cannot be imported is refused here.
 */
export const PrivateKeysSchema = z
  .string()
  .min(2, "must be a JSON array of private JWKs (npm run keys:generate)")
  .transform(fromJson("is not valid JSON"))
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(
    z
      .array(z.custom<PrivateJwk>(isPrivateEd25519, "must be a private Ed25519 JWK with a kid"))
      .min(1, "is empty"),
  );
