import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";

/** A private Ed25519 JWK with a kid, as JWT_PRIVATE_KEYS expects (a JSON array of these). */
export async function generateSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${randomBytes(4).toString("hex")}`;
  return { ...jwk, kid, alg: "EdDSA", use: "sig" };
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Fresh secrets for a local stack (dev writes them to .dev.vars once; tests make new ones per run). */
export async function generateLocalSecrets(): Promise<Record<string, string>> {
  return {
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningKey()]),
    SERVER_SECRET: randomSecret(),
    SERVICE_TOKEN: randomSecret(),
  };
}

/** .dev.vars / .env format: KEY="value" with JSON-escaped values. */
export function toEnvFile(vars: Record<string, string | undefined>): string {
  return `${Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join("\n")}\n`;
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.startsWith('"')) value = JSON.parse(value) as string;
    out[key] = value;
  }
  return out;
}

/** The public JWK Set for JWT_PRIVATE_KEYS (private parts dropped), for the parties' JWT_PUBLIC_JWKS. */
export function publicJwks(privateKeysJson: string): string {
  const keys = (JSON.parse(privateKeysJson) as Array<Record<string, unknown>>).map(
    ({ d: _d, ...pub }) => pub,
  );
  return JSON.stringify({ keys });
}
