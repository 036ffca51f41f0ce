import type { Context, TypedResponse } from "hono";
import { createMiddleware } from "hono/factory";
import type { CacheKey } from "../adapters/cache.ts";
import type { AppEnv } from "../env.ts";
import { sha256 } from "../lib/crypto.ts";
import { errorFields } from "../lib/log.ts";
import { keyRing } from "../services/identity/tokens.ts";

/**
 * HTTP caching. User-dependent reads go through the read cache (`cachedJson`): strong ETag,
 * `If-None-Match` → 304, `Cache-Control: private, no-cache` (a browser may keep the copy but must
 * revalidate, which costs a 304), `Vary: Authorization`, and `X-Cache: HIT | MISS | BYPASS`.
 * Public, user-independent documents (JWKS, OpenAPI) are kept in the Workers Cache API
 * (`publicEdgeCache`). Hand-written: hono's etag/cache middleware hash every response after
 * the fact and cannot reuse the hash stored with a cache entry.
 */

/** Does `If-None-Match` match this entity tag? Weak comparison, as RFC 9110 §13.1.2 prescribes for it. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch
    .split(",")
    .map((t) => t.trim())
    .some((t) => t === "*" || t.replace(/^W\//, "") === opaque);
}

/** For a cached route's `responses`: documents the 304 and the caching headers. */
export const notModified = {
  304: {
    description:
      "Not modified: `If-None-Match` carries the current `ETag`. Cached reads answer with a strong `ETag`, `Cache-Control: private, no-cache` and `X-Cache: HIT | MISS | BYPASS`; send `Cache-Control: no-cache` to bypass the server-side cache.",
  },
} as const;

/** `Cache-Control: no-cache` / `no-store` (or `Pragma: no-cache`) asks for a copy from the source. */
function wantsFresh(c: Context<AppEnv>): boolean {
  const cc = c.req.header("cache-control")?.toLowerCase() ?? "";
  return /\bno-(cache|store)\b/.test(cc) || c.req.header("pragma")?.toLowerCase() === "no-cache";
}

/**
 * Answer a GET with a cached JSON document (cache-aside through `c.var.services.cache`).
 * A client that sends `Cache-Control: no-cache` bypasses the server-side cache (X-Cache: BYPASS);
 * the per-user API rate limit bounds what that can cost.
 */
export async function cachedJson<T>(
  c: Context<AppEnv>,
  key: CacheKey<T>,
  load: () => Promise<T>,
): Promise<TypedResponse<T, 200, "json">> {
  const doc = await c.get("services").cache.json(key, load, { bypass: wantsFresh(c) });
  c.set("cacheStatus", doc.status);
  const headers = {
    ETag: doc.etag,
    "Cache-Control": "private, no-cache",
    Vary: "Authorization",
    "X-Cache": doc.status,
  };
  // Typed as the route's JSON 200 (what the body is); a 304 carries no body.
  if (matchesEtag(c.req.header("if-none-match"), doc.etag)) return c.body(null, 304, headers) as never;
  return c.body(doc.body, 200, { ...headers, "Content-Type": "application/json" }) as never;
}

/**
 * A public GET route kept in the Workers Cache API (per data centre) for `ttlSeconds`, keyed by
 * path plus an optional `variant` (e.g. the signing key ids, so a key rotation is served at once).
 * Responses other than 200 are not stored; Cache API failures fall through to the route.
 */
export function publicEdgeCache(opts: {
  ttlSeconds: number;
  variant?: (c: Context<AppEnv>) => string | Promise<string>;
}) {
  return createMiddleware<AppEnv>(async function publicEdgeCache(c, next) {
    const edge = (globalThis as { caches?: { default?: Cache } }).caches?.default;
    if (c.req.method !== "GET" || !edge) return next();
    const url = new URL(c.req.url);
    url.search = opts.variant ? `v=${await sha256(await opts.variant(c))}` : "";
    const key = new Request(url.toString(), { method: "GET" });
    const cacheControl = `public, max-age=${opts.ttlSeconds}`;

    const hit = await edge.match(key).catch((err: unknown) => {
      c.var.log.warn("edge cache read failed", errorFields(err));
      return undefined;
    });
    const hitEtag = hit?.headers.get("etag");
    if (hit && hitEtag) {
      c.set("cacheStatus", "HIT");
      const headers = { ETag: hitEtag, "Cache-Control": cacheControl, "X-Cache": "HIT" };
      if (matchesEtag(c.req.header("if-none-match"), hitEtag)) {
        await hit.body?.cancel();
        return c.body(null, 304, headers);
      }
      const type = hit.headers.get("content-type") ?? "application/json";
      return c.body(await hit.arrayBuffer(), 200, { ...headers, "Content-Type": type });
    }

    await next();
    if (c.res.status !== 200) return;
    c.set("cacheStatus", "MISS");
    const body = await c.res.clone().text();
    const etag = `"${await sha256(body)}"`;
    const stored = new Response(body, {
      headers: {
        "Content-Type": c.res.headers.get("content-type") ?? "application/json",
        ETag: etag,
        "Cache-Control": cacheControl,
      },
    });
    const put = edge
      .put(key, stored)
      .catch((err: unknown) => c.var.log.warn("edge cache write failed", errorFields(err)));
    try {
      c.executionCtx.waitUntil(put);
    } catch {
      await put; // no execution context (app.request from a script)
    }
    if (matchesEtag(c.req.header("if-none-match"), etag)) {
      c.res = new Response(null, { status: 304 });
    }
    c.res.headers.set("ETag", etag);
    c.res.headers.set("Cache-Control", cacheControl);
    c.res.headers.set("X-Cache", "MISS");
  });
}

/** JWKS at the edge, keyed by the live key ids: a rotation is served at once, not after the TTL. */
export const jwksEdgeCache = () =>
  publicEdgeCache({
    ttlSeconds: 300,
    variant: async (c) => [...(await keyRing(c.var.config)).verifyKeys.keys()].join(","),
  });

/** The OpenAPI document at the edge, keyed by the release (a deploy changes it). */
export const openapiEdgeCache = () =>
  publicEdgeCache({ ttlSeconds: 300, variant: (c) => c.var.config.SENTRY_RELEASE ?? "" });
