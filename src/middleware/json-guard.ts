import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/**
 * Request hygiene for JSON bodies, run by every route's body guard (src/middleware/body-guard.ts)
 * before any route code sees the body:
 * - shape limits: nesting deeper than MAX_JSON_DEPTH or more than MAX_JSON_KEYS object keys in
 *   one document is a 400, checked before the document is walked by anything recursive;
 * - `__proto__`, `constructor` and `prototype` keys are refused (400) anywhere in the document,
 *   so no later merge (Object.assign, a library's deep merge) can ever reach a prototype;
 * - a string or key with a lone UTF-16 surrogate (`"\ud800"`) is refused (400): defence in
 *   depth behind the schemas' text rules (src/lib/text.ts), so a route that forgot them still
 *   never hands sqld text it cannot deserialize.
 * Malformed JSON is left to the route's validator, which answers 400 with the same envelope.
 */
export const MAX_JSON_DEPTH = 16;
export const MAX_JSON_KEYS = 512;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

export function isJsonContentType(contentType: string | undefined): boolean {
  const media = contentType?.split(";")[0]?.trim();
  return Boolean(media && JSON_MEDIA_TYPE.test(media));
}

/**
 * Deepest nesting of a JSON text, stopping once it passes `max` (strings skipped, escapes
 * honoured). Hand-written: a one-pass scan with no dependency, run before JSON.parse.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

type Violation = { path: string; message: string };

const ILL_FORMED = "must be well-formed Unicode (no lone surrogates)";

/** Count keys, find forbidden keys and ill-formed text; depth is already bounded, so recursion is safe. */
export function inspectJson(value: unknown, maxKeys: number): Violation | undefined {
  let keys = 0;
  const walk = (v: unknown, path: string[]): Violation | undefined => {
    if (typeof v === "string")
      return v.isWellFormed() ? undefined : { path: path.join(".") || "(root)", message: ILL_FORMED };
    if (v === null || typeof v !== "object") return undefined;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const found = walk(v[i], [...path, String(i)]);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(v)) {
      const here = [...path, key];
      if (FORBIDDEN_KEYS.has(key))
        return { path: here.join("."), message: `the key "${key}" is not allowed` };
      if (!key.isWellFormed()) return { path: here.join(".").toWellFormed(), message: ILL_FORMED };
      if (++keys > maxKeys) return { path: "(root)", message: `more than ${maxKeys} keys` };
      const found = walk((v as Record<string, unknown>)[key], here);
      if (found) return found;
    }
    return undefined;
  };
  return walk(value, []);
}

export const refuse = (v: Violation) =>
  new ApiError("validation_failed", "The JSON body is not acceptable.", { errors: [v] });

// A percent-encoded unreserved character (RFC 3986 §2.3): `%31` for `1`, `%2D` for `-`, ...
const ENCODED_UNRESERVED = /%(?:2[de]|3\d|4[1-9a-f]|5[\daf]|6[1-9a-f]|7[\dae])/i;

/**
 * One resource, one URL: a path that spells an unreserved character percent-encoded (an alias
 * of another URL once decoded, e.g. `/v1/rooms/%30193…`) is refused with 400, so ids, cache keys
 * and rate-limit keys can never be reached under a second spelling.
 */
export const canonicalPath = () =>
  createMiddleware<AppEnv>(async function canonicalPath(c, next) {
    // The WHATWG URL parser keeps percent-encodings in the pathname as sent; a URL with no "%"
    // at all (nearly every request) has none to look for, and is not parsed.
    const url = c.req.url;
    if (url.includes("%") && ENCODED_UNRESERVED.test(new URL(url).pathname)) {
      throw refuse({ path: "(path)", message: "percent-encoded letters, digits or -._~ are not allowed" });
    }
    await next();
  });
