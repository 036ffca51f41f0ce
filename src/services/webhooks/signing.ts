/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): base64 HMAC-SHA256 of
 * `id.timestamp.body`, sent as `v1,<sig>`; several space-separated during a rotation.
 * Hand-written over WebCrypto (a few lines): the `standardwebhooks` package is what the
 * receivers, and our tests, verify with, so the signer stays independent of it.
 */
import { secretKeyBytes } from "./secrets.ts";

const enc = new TextEncoder();

async function signOne(secret: string, content: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    secretKeyBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(content)));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** The three headers for one attempt; `secrets` are the current one first, then a previous one still valid. */
export async function signatureHeaders(
  id: string,
  body: string,
  secrets: string[],
  nowMs: number,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const content = `${id}.${timestamp}.${body}`;
  const signatures = await Promise.all(secrets.map((s) => signOne(s, content)));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signatures.join(" "),
  };
}
