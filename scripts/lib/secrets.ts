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

/**
 * .dev.vars / .env format. Values go in single quotes, which dotenv (and so wrangler) takes
 * literally: JSON values such as JWT_PRIVATE_KEYS keep their double quotes. (Double-quoted values
 * would need escapes that dotenv does not undo.)
 */
export function toEnvFile(vars: Record<string, string | undefined>): string {
  const lines = Object.entries(vars)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => {
      if (v.includes("'") || v.includes("\n"))
        throw new Error(`${k}: a single quote or newline cannot go in an env file`);
      return `${k}='${v}'`;
    });
  return `${lines.join("\n")}\n`;
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
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    else if (value.startsWith('"')) value = JSON.parse(value) as string;
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
