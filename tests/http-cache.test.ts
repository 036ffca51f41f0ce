import { describe, expect, it } from "vitest";
import { ipBucket } from "../src/lib/ip.ts";
import { matchesEtag } from "../src/middleware/http-cache.ts";
import { api, apiWithEnv, jsonBody } from "./helpers/api.ts";
import { authed } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser } from "./helpers/users.ts";

const me = (token: string, headers: Record<string, string> = {}) => api("/v1/me", bearer(token, headers));

describe("ETag, If-None-Match and X-Cache on cached reads", () => {
  it("answers a strong ETag, 304 for a current one, 200 again after a write changed it", async () => {
    const u = await registerUser();
    const first = await me(u.accessToken);
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/); // strong: no W/ prefix
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    expect(first.headers.get("vary")).toContain("Authorization");
    expect(first.headers.get("x-cache")).toBe("MISS");

    const hit = await me(u.accessToken);
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("etag")).toBe(etag);
    expect(await hit.text()).toBe(await first.clone().text());

    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await me(u.accessToken, { "if-none-match": inm });
      expect(res.status, inm).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("x-cache")).toBe("HIT");
      expect(res.headers.get("cache-control")).toBe("private, no-cache");
    }
    expect((await me(u.accessToken, { "if-none-match": '"something-else"' })).status).toBe(200);

    await api("/v1/me", authed(u.accessToken, "PATCH", { name: "Another Name" }));
    const changed = await me(u.accessToken, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(((await changed.json()) as { name: string }).name).toBe("Another Name");
  });

  it("Cache-Control: no-cache from the client bypasses the server cache; the ETag stays the same", async () => {
    const u = await registerUser();
    const cached = await me(u.accessToken);
    const fresh = await me(u.accessToken, { "cache-control": "no-cache" });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("x-cache")).toBe("BYPASS");
    expect(fresh.headers.get("etag")).toBe(cached.headers.get("etag"));
    expect((await me(u.accessToken, { pragma: "no-cache" })).headers.get("x-cache")).toBe("BYPASS");
  });

  it("is per user: another caller never gets someone else's cached document or a 304 for it", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const etagA = (await me(a.accessToken)).headers.get("etag")!;
    const resB = await me(b.accessToken, { "if-none-match": etagA });
    expect(resB.status).toBe(200);
    expect(((await resB.json()) as { id: string }).id).toBe(b.id);
    // Unauthenticated: 401 before the cache is consulted, and no cache headers.
    const anon = await api("/v1/me", { headers: { "if-none-match": etagA } });
    await expectProblem(anon, 401, "unauthorized");
    expect(anon.headers.get("x-cache")).toBeNull();
  });

  it("does not cache errors: a 404 is not stored and does not carry an ETag", async () => {
    const u = await registerUser();
    const id = "01890000-0000-7000-8000-000000000000";
    const res = await api(`/v1/orgs/${id}`, bearer(u.accessToken));
    await expectProblem(res, 404, "not_found");
    expect(res.headers.get("etag")).toBeNull();
  });

  it("matches entity tags with the weak comparison If-None-Match uses", () => {
    expect(matchesEtag('"a"', '"a"')).toBe(true);
    expect(matchesEtag('W/"a"', '"a"')).toBe(true);
    expect(matchesEtag(' "b" ,  "a"', '"a"')).toBe(true);
    expect(matchesEtag("*", '"a"')).toBe(true);
    expect(matchesEtag('"ab"', '"a"')).toBe(false);
    expect(matchesEtag(undefined, '"a"')).toBe(false);
    expect(matchesEtag("", '"a"')).toBe(false);
  });
});

describe("public documents in the Workers Cache API", () => {
  for (const path of ["/.well-known/jwks.json", "/openapi.json"]) {
    it(`${path}: served from the edge cache with an ETag, 304 when current`, async () => {
      const first = await api(path);
      expect(first.status).toBe(200);
      expect(["MISS", "HIT"]).toContain(first.headers.get("x-cache"));
      const etag = first.headers.get("etag")!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(first.headers.get("cache-control")).toBe("public, max-age=300");

      const second = await api(path, { headers: { "x-request-id": "edge-cache-test-1" } });
      expect(second.status).toBe(200);
      expect(second.headers.get("x-cache")).toBe("HIT");
      expect(second.headers.get("etag")).toBe(etag);
      expect(second.headers.get("content-type")).toContain("application/json");
      expect(second.headers.get("x-request-id")).toBe("edge-cache-test-1"); // not the stored request's
      expect(await second.text()).toBe(await first.text());

      const notModified = await api(path, { headers: { "if-none-match": etag } });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get("etag")).toBe(etag);
    });
  }

  it("keys the JWKS by the live key ids: another key set is not served the cached document", async () => {
    const cached = (await (await api("/.well-known/jwks.json")).json()) as { keys: Array<{ kid: string }> };
    const kid = `rotated-${crypto.randomUUID()}`;
    const { privateKey } = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const {
      key_ops: _ops,
      ext: _ext,
      ...exported
    } = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
    const jwk = { ...exported, kid };
    const res = await apiWithEnv({ JWT_PRIVATE_KEYS: JSON.stringify([jwk]) }, "/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    const body = (await res.json()) as { keys: Array<{ kid: string }> };
    expect(body.keys.map((k) => k.kid)).toEqual([kid]);
    expect(cached.keys.map((k) => k.kid)).not.toContain(kid);
  });
});

describe("rate-limit buckets: IPv6 by canonical /64", () => {
  it("expands :: and leading zeros, ignores case, zone and brackets, and takes the first four groups", () => {
    const same = [
      "2001:db8:aa:1::1",
      "2001:DB8:AA:1:0:0:0:2",
      "2001:0db8:00aa:0001:ffff:ffff:ffff:ffff",
      "[2001:db8:aa:1::7]",
      "2001:db8:aa:1::1%eth0",
      "2001:db8:aa:1:1:2:10.0.0.1",
    ];
    for (const ip of same) expect(ipBucket(ip), ip).toBe("2001:db8:aa:1::/64");
    expect(ipBucket("2001:db8::1")).toBe("2001:db8:0:0::/64"); // :: inside the prefix
    expect(ipBucket("2001:db8:aa:2::1")).toBe("2001:db8:aa:2::/64");
    expect(ipBucket("::1")).toBe("0:0:0:0::/64");
  });

  it("treats IPv4 and IPv4-mapped IPv6 as the IPv4 client, and lumps garbage together", () => {
    expect(ipBucket("192.0.2.1")).toBe("192.0.2.1");
    expect(ipBucket("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(ipBucket("::FFFF:c000:201")).toBe("192.0.2.1");
    for (const bad of ["2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "12345::1", "300.1.1.1", "not an ip", "::g"]) {
      expect(ipBucket(bad), bad).toBe("invalid");
    }
    expect(ipBucket(undefined)).toBe("unknown");
  });

  it("counts every address of one /64 against one auth budget, whatever its spelling", async () => {
    const env = { AUTH_RATE_LIMIT: "3" };
    const [g1, g2, g3] = Array.from(crypto.getRandomValues(new Uint16Array(3)), (n) => n.toString(16));
    const prefix = `${g1}:${g2}:${g3}`;
    const neighbour = `${g1}:${g2}:${(Number.parseInt(g3!, 16) ^ 1).toString(16)}`;
    const login = (ip: string) =>
      apiWithEnv(
        env,
        "/v1/auth/login",
        jsonBody(
          { email: `${crypto.randomUUID()}@example.test`, password: "wrong wrong wrong" },
          { headers: { "cf-connecting-ip": ip } },
        ),
      );
    const spellings = [`2001:${prefix}::1`, `2001:${prefix.toUpperCase()}:0:0:0:9`, `2001:${prefix}:0::abcd`];
    for (const ip of spellings) expect((await login(ip)).status, ip).toBe(401);
    await expectProblem(await login(`2001:${prefix}:ffff:ffff:ffff:ffff`), 429, "rate_limited");
    expect((await login(`2001:${neighbour}::1`)).status).toBe(401); // the neighbouring /64
  });
});
