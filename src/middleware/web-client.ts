import { createMiddleware } from "hono/factory";
import type { Config } from "../config.ts";
import type { AppEnv } from "../env.ts";

/**
 * The web client's Content-Security-Policy: its own scripts and styles only (no inline code),
 * sockets to PartyKit, uploads and images from the file store, blob: for local image previews.
 */
export function webClientCsp(config: Config): string {
  const party = new URL(config.PARTYKIT_PUBLIC_URL ?? config.PARTYKIT_URL);
  const ws = `${party.protocol === "https:" ? "wss:" : "ws:"}//${party.host}`;
  // Presigned S3 URLs point at the store itself; with R2 the Worker serves files on its own origin.
  const store =
    config.STORAGE_DRIVER === "s3" && config.S3_ENDPOINT ? ` ${new URL(config.S3_ENDPOINT).origin}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' blob:${store}`,
    `connect-src 'self' ${ws}${store}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const HAS_EXTENSION = /\.[A-Za-z0-9]+$/;

/**
 * Serves the single-page client from the static assets (dist/public/app) for GET /app/*:
 * files as they are; any other path without a file extension (a deep link such as
 * /app/rooms/<id>) gets index.html. HTML gets the client's CSP and the configured OAuth
 * provider ids in a meta tag. Anything else falls through to the API's problem+json 404.
 */
export const webClient = () =>
  createMiddleware<AppEnv>(async function webClient(c, next) {
    const assets = c.env.ASSETS;
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || !assets) return next();
    const url = new URL(c.req.url);
    let res = await assets.fetch(new Request(url, c.req.raw));
    if (res.status === 404 && !HAS_EXTENSION.test(url.pathname)) {
      res = await assets.fetch(new Request(new URL("/app/", url), c.req.raw));
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return next();
    }
    if (!res.headers.get("content-type")?.startsWith("text/html")) return new Response(res.body, res);

    const config = c.var.config;
    const providers = [...config.OAUTH_PROVIDERS.keys()].join(",");
    const page = new HTMLRewriter()
      .on('meta[name="petrel-oauth-providers"]', {
        element: (el) => {
          el.setAttribute("content", providers);
        },
      })
      .transform(new Response(res.body, res));
    const out = new Response(page.body, page);
    // The page depends on configuration (providers, CSP): always revalidate, never reuse its ETag.
    out.headers.delete("etag");
    out.headers.set("cache-control", "no-cache");
    out.headers.set("content-security-policy", webClientCsp(config));
    return out;
  });
