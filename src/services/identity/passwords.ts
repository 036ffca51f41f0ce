import { base64url, fromBase64url } from "../../lib/crypto.ts";

/**
 * Password hashing: PBKDF2-HMAC-SHA-256 through WebCrypto (native, constant-time in workerd).
 *
 * Why: argon2/scrypt WASM builds cannot be compiled at run time in Workers ("Wasm code
 * generation disallowed"), and pure-JS scrypt at OWASP's parameters costs ~0.8 s of CPU.
 * OWASP's bar for PBKDF2-HMAC-SHA-256 is 600,000 iterations, but workerd caps one PBKDF2
 * call at 100,000, so the work is done as sequential rounds of at most 100,000, each round
 * keyed by the previous one's output: an attacker must pay every iteration per guess.
 *
 * Format (self-describing): `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`.
 * A hash with other parameters still verifies and is flagged for a transparent re-hash.
 */
const ROUND_MAX = 100_000;
const enc = new TextEncoder();

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  let input: Uint8Array = enc.encode(password.normalize("NFKC"));
  let remaining = iterations;
  let out = new Uint8Array(32);
  while (remaining > 0) {
    const n = Math.min(remaining, ROUND_MAX);
    const key = await crypto.subtle.importKey("raw", input, "PBKDF2", false, ["deriveBits"]);
    out = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: n }, key, 256),
    );
    input = out;
    remaining -= n;
  }
  return out;
}

export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${base64url(salt)}$${base64url(hash)}`;
}

export interface VerifyResult {
  ok: boolean;
  needsRehash: boolean;
}

export async function verifyPassword(
  password: string,
  stored: string,
  iterations: number,
): Promise<VerifyResult> {
  const [alg, iterStr, saltStr, hashStr] = stored.split("$");
  const storedIterations = Number(iterStr);
  if (alg !== "pbkdf2-sha256" || !Number.isSafeInteger(storedIterations) || !saltStr || !hashStr) {
    return { ok: false, needsRehash: false };
  }
  const actual = await derive(password, fromBase64url(saltStr), storedIterations);
  const expected = fromBase64url(hashStr);
  const ok = actual.length === expected.length && crypto.subtle.timingSafeEqual(actual, expected);
  return { ok, needsRehash: ok && storedIterations !== iterations };
}

/** Burn the same work for an unknown account so timing does not reveal whether it exists. */
let dummy: Promise<string> | undefined;
export async function verifyDummy(password: string, iterations: number): Promise<void> {
  dummy ??= hashPassword("dummy-password-for-timing", iterations);
  await verifyPassword(password, await dummy, iterations);
}
