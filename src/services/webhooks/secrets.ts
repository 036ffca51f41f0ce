/**
 * Endpoint signing secrets: generated as `whsec_<base64>` (the Standard Webhooks form), stored
 * only AES-256-GCM-encrypted under a key derived from SERVER_SECRET with HKDF, and bound to
 * their endpoint (the endpoint id is the additional data, so a ciphertext cannot be moved to
 * another endpoint's row). WebCrypto does all of it; no library needed.
 */
import { base64url, fromBase64url } from "../../lib/crypto.ts";

const enc = new TextEncoder();
const PREFIX = "whsec_";
const VERSION = "v1";

/** 24 random bytes, standard base64 (what `standardwebhooks` decodes after the prefix). */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${PREFIX}${btoa(String.fromCharCode(...bytes))}`;
}

/** The raw HMAC key bytes of a `whsec_` secret. */
export function secretKeyBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

const keys = new Map<string, Promise<CryptoKey>>();
function encryptionKey(serverSecret: string): Promise<CryptoKey> {
  let key = keys.get(serverSecret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", enc.encode(serverSecret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          {
            name: "HKDF",
            hash: "SHA-256",
            salt: new Uint8Array(0),
            info: enc.encode("petrel webhook secrets v1"),
          },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(serverSecret, key);
  }
  return key;
}

/** `v1.<iv>.<ciphertext>` (base64url), bound to `endpointId`. */
export async function encryptSecret(serverSecret: string, endpointId: string, secret: string) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: enc.encode(endpointId) },
    await encryptionKey(serverSecret),
    enc.encode(secret),
  );
  return `${VERSION}.${base64url(iv)}.${base64url(ct)}`;
}

export async function decryptSecret(serverSecret: string, endpointId: string, stored: string) {
  const [version, iv, ct] = stored.split(".");
  if (version !== VERSION || !iv || !ct) throw new Error("unknown webhook secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(iv), additionalData: enc.encode(endpointId) },
    await encryptionKey(serverSecret),
    fromBase64url(ct),
  );
  return new TextDecoder().decode(plain);
}
