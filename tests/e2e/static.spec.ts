/** How the Worker serves the client: CSP on the page, deep links, and problem+json for everything else. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BASE_URL } from "./lib.ts";

const get = (path: string) => fetch(`${BASE_URL}${path}`, { redirect: "manual" });

describe("the web client is served by the Worker", () => {
  it("serves index.html with a strict CSP and no inline code", async () => {
    const res = await get("/app/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const html = await res.text();
    for (const script of html.match(/<script\b[^>]*>/g) ?? []) assert.match(script, /\bsrc="\/app\/assets\//);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    assert.match(html, /<meta name="petrel-oauth-providers" content="oidc"/);
  });

  it("answers deep links with the app and /app with a redirect", async () => {
    const deep = await get("/app/rooms/01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7a?x=1");
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<div id="app">/);
    const bare = await get("/app");
    assert.ok([301, 302, 307, 308].includes(bare.status));
    assert.equal(bare.headers.get("location"), "/app/");
  });

  it("keeps problem+json 404s for the API and for missing files", async () => {
    for (const path of ["/v1/nope", "/app/missing.js", "/nope"]) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get("content-type"), "application/problem+json", path);
      assert.equal(((await res.json()) as { code: string }).code, "not_found");
    }
  });
});
