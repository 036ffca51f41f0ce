import type { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { AppEnv } from "../../env.ts";

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "Petrel API",
    version: "1.0.0",
    description:
      "Edge-native backend for realtime apps. Errors are RFC 9457 problem documents with a stable `code`.",
  },
} as const;

// The page loads Scalar's standalone bundle from this Worker's static assets (copied from
// the npm package by scripts/build-assets.ts), never from a CDN, and has no inline script.
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Petrel API reference</title>
</head>
<body>
<script id="api-reference" data-url="/openapi.json" data-configuration='{"withDefaultFonts":false,"hideClientButton":true}'></script>
<script src="/docs/assets/scalar.js"></script>
</body>
</html>`;

export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function docsRoutes(app: OpenAPIHono<AppEnv>) {
  const router = new Hono<AppEnv>();
  let cached: string | undefined;
  router.get("/openapi.json", (c) => {
    cached ??= JSON.stringify(app.getOpenAPI31Document(OPENAPI_INFO));
    c.header("Cache-Control", "public, max-age=300");
    return c.body(cached, 200, { "content-type": "application/json" });
  });
  router.get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(DOCS_HTML);
  });
  return router;
}
