/**
 * `npm run keys:generate`: prints a new Ed25519 signing key (private JWK with a kid).
 * Rotation: prepend the new key to JWT_PRIVATE_KEYS (the first key signs, all are published in
 * the JWKS), deploy, and remove the old key once the longest access-token lifetime has passed.
 */
import { generateSigningKey } from "./lib/secrets.ts";

const key = await generateSigningKey();
console.log(JSON.stringify([key]));
console.error(
  `\nNew key ${key.kid}. Set it with: wrangler secret put JWT_PRIVATE_KEYS (paste the array, merged with live keys)`,
);
