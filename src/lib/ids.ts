/**
 * Plain `zod` (no Hono): services, the party servers and the browser client share these ids.
 * The example is zod metadata, which the OpenAPI generator reads like `.openapi({ example })`.
 */
import { z } from "zod";

/**
 * UUIDv7 ids: time-ordered (good index locality, cursor pagination by id) and opaque.
 * Hand-written (a dozen lines) because crypto.randomUUID() only makes v4.
 */
export function uuidv7(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ts = Date.now();
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ts & 0xff;
    ts = Math.floor(ts / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** One spelling per id: lower-case canonical UUID, nothing else (no `%31`, no upper case). */
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
export const ID_PATTERN = new RegExp(`^${ID}$`);
/** An id inside a longer pattern (channel names, refresh tokens): ID_PATTERN without anchors. */
export const ID_SOURCE = ID;
export const IdSchema = z.string().regex(ID_PATTERN, "must be a lower-case UUID").meta({
  example: "01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7a",
});

export const nowIso = () => new Date().toISOString();
export const isoIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
