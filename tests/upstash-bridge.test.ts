// Runs inside workerd: checks that the local Upstash REST bridge (scripts/lib/upstash-bridge.ts)
// speaks the protocol the real @upstash/redis client expects.
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, inject, it } from "vitest";

declare module "vitest" {
  interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
  }
}

const url = inject("upstashUrl");
const token = inject("upstashToken");
const redis = new Redis({ url, token, retry: false });

// "héllo ✓" as UTF-8 bytes, base64-encoded.
const HELLO = "héllo ✓";
const HELLO_B64 = "aMOpbGxvIOKckw==";

const prefix = () => `test:upstash-bridge:${crypto.randomUUID()}:`;

function raw(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
    body,
  });
}

describe("upstash bridge", () => {
  it("round-trips a single command", async () => {
    const key = `${prefix()}single`;
    expect(await redis.get(key)).toBeNull();
    expect(await redis.set(key, "value-1")).toBe("OK");
    expect(await redis.get(key)).toBe("value-1");
    expect(await redis.del(key)).toBe(1);
    expect(await redis.exists(key)).toBe(0);
  });

  it("keeps numbers and JSON values", async () => {
    const p = prefix();
    await redis.set(`${p}num`, 42);
    expect(await redis.get(`${p}num`)).toBe(42);
    expect(await redis.incrby(`${p}num`, 8)).toBe(50);

    const doc = { name: HELLO, tags: ["a", "b"], nested: { ok: true, n: 1.5, none: null } };
    await redis.set(`${p}json`, doc);
    expect(await redis.get(`${p}json`)).toEqual(doc);

    // The client stores the object as JSON text; the bridge hands it back byte for byte.
    const res = await raw("/", JSON.stringify(["get", `${p}json`]));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: JSON.stringify(doc) });
  });

  it("runs a pipeline", async () => {
    const p = prefix();
    const results = await redis
      .pipeline()
      .set(`${p}a`, "1")
      .incr(`${p}a`)
      .get(`${p}a`)
      .get(`${p}missing`)
      .lpush(`${p}list`, "x", "y")
      .lrange(`${p}list`, 0, -1)
      .exec();
    expect(results).toEqual(["OK", 2, 2, null, 2, ["y", "x"]]);
  });

  it("runs multi-exec atomically", async () => {
    const p = prefix();
    const results = await redis.multi().set(`${p}m`, "1").incr(`${p}m`).get(`${p}m`).exec();
    expect(results).toEqual(["OK", 2, 2]);

    // A command rejected while queueing aborts the whole transaction: the SET must not run.
    const res = await raw("/multi-exec", JSON.stringify([["set", `${p}aborted`, "1"], ["get"]]));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: unknown };
    expect(typeof body.error).toBe("string");
    expect(body.error as string).toMatch(/^EXECABORT/);
    expect(await redis.exists(`${p}aborted`)).toBe(0);

    // The same commands as a plain pipeline do run the SET.
    const piped = await raw("/pipeline", JSON.stringify([["set", `${p}piped`, "1"], ["get"]]));
    expect(piped.status).toBe(200);
    expect(await redis.get(`${p}piped`)).toBe(1);
  });

  it("returns HGETALL inside a pipeline as field/value pairs", async () => {
    const p = prefix();
    await redis.hset(`${p}h`, { f1: "v1", f2: 2, f3: HELLO });
    const [all, one] = await redis.pipeline().hgetall(`${p}h`).hget(`${p}h`, "f1").exec();
    expect(all).toEqual({ f1: "v1", f2: 2, f3: HELLO });
    expect(one).toBe("v1");

    const res = await raw("/pipeline", JSON.stringify([["hgetall", `${p}h`]]));
    expect(res.status).toBe(200);
    const [entry] = (await res.json()) as { result: string[] }[];
    const pairs = new Map<string, string>();
    const flat = entry?.result ?? [];
    for (let i = 0; i < flat.length; i += 2) pairs.set(flat[i] as string, flat[i + 1] as string);
    expect(flat).toHaveLength(6);
    expect(Object.fromEntries(pairs)).toEqual({ f1: "v1", f2: "2", f3: HELLO });
  });

  it("encodes replies as UTF-8 by default and base64 on request", async () => {
    const p = prefix();
    const set = await raw("/", JSON.stringify(["set", `${p}s`, HELLO]));
    expect(set.status).toBe(200);
    expect(await set.text()).toBe('{"result":"OK"}');

    const plain = await raw("/", JSON.stringify(["get", `${p}s`]));
    expect(await plain.text()).toBe(`{"result":"${HELLO}"}`);

    const b64 = { "Upstash-Encoding": "base64" };
    const encoded = await raw("/", JSON.stringify(["get", `${p}s`]), b64);
    expect(encoded.status).toBe(200);
    expect(await encoded.text()).toBe(`{"result":"${HELLO_B64}"}`);

    // Simple strings, nested bulk strings, integers and nil inside a pipeline.
    const piped = await raw(
      "/pipeline",
      JSON.stringify([
        ["set", `${p}t`, "x"],
        ["mget", `${p}s`, `${p}nope`],
        ["incr", `${p}n`],
        ["get", `${p}nope`],
      ]),
      b64,
    );
    expect(piped.status).toBe(200);
    expect(await piped.text()).toBe(
      `[{"result":"T0s="},{"result":["${HELLO_B64}",null]},{"result":1},{"result":null}]`,
    );

    const pipedPlain = await raw(
      "/pipeline",
      JSON.stringify([
        ["mget", `${p}s`, `${p}nope`],
        ["incr", `${p}n`],
      ]),
    );
    expect(await pipedPlain.text()).toBe(`[{"result":["${HELLO}",null]},{"result":2}]`);

    // The client (base64 by default) decodes it back.
    expect(await redis.get(`${p}s`)).toBe(HELLO);
  });

  it("accepts numbers and booleans as arguments", async () => {
    const p = prefix();
    const res = await raw("/", JSON.stringify(["hset", `${p}h`, "n", 7, "b", true]));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"result":2}');
    const back = await raw("/", JSON.stringify(["hmget", `${p}h`, "n", "b"]));
    expect(await back.text()).toBe('{"result":["7","true"]}');
  });

  it("supports the path form", async () => {
    const p = prefix();
    const key = encodeURIComponent(`${p}path`);
    const set = await fetch(`${url}/set/${key}/${encodeURIComponent("a/b ✓")}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(set.status).toBe(200);
    expect(await set.text()).toBe('{"result":"OK"}');
    const get = await fetch(`${url}/get/${key}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('{"result":"a/b ✓"}');
  });

  it("echoes the upstash-sync-token header", async () => {
    const res = await raw("/", JSON.stringify(["ping"]), { "upstash-sync-token": "sync-123" });
    expect(res.status).toBe(200);
    expect(res.headers.get("upstash-sync-token")).toBe("sync-123");
    expect(await res.text()).toBe('{"result":"PONG"}');
  });

  it("rejects a wrong or missing token with 401", async () => {
    const key = `${prefix()}secret`;
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, "Bearer ", token]) {
      const res = await raw("/", JSON.stringify(["set", key, "1"]), { Authorization: authorization });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('{"error":"Unauthorized"}');
    }
    const missing = await fetch(url, { method: "POST", body: JSON.stringify(["set", key, "1"]) });
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe('{"error":"Unauthorized"}');
    const pipeline = await raw("/pipeline", JSON.stringify([["set", key, "1"]]), {
      Authorization: "Bearer nope",
    });
    expect(pipeline.status).toBe(401);

    const intruder = new Redis({ url, token: `${token}-wrong`, retry: false });
    await expect(intruder.set(key, "1")).rejects.toThrow(/Unauthorized/);
    // None of the rejected requests wrote anything.
    expect(await redis.exists(key)).toBe(0);
  });

  it("answers Redis errors with 400 and per-command errors in pipelines", async () => {
    const p = prefix();
    await redis.set(`${p}word`, "abc");

    const res = await raw("/", JSON.stringify(["incr", `${p}word`]));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error?: unknown; result?: unknown };
    expect(typeof body.error).toBe("string");
    expect(body.error as string).toMatch(/^ERR /);
    expect(body).not.toHaveProperty("result");
    await expect(redis.incr(`${p}word`)).rejects.toThrow(/ERR value is not an integer/);

    const piped = await raw(
      "/pipeline",
      JSON.stringify([
        ["set", `${p}ok`, "1"],
        ["incr", `${p}word`],
        ["get", `${p}word`],
      ]),
    );
    expect(piped.status).toBe(200);
    const entries = (await piped.json()) as { result?: unknown; error?: unknown }[];
    expect(entries).toHaveLength(3);
    expect(entries[0]).toEqual({ result: "OK" });
    expect(typeof entries[1]?.error).toBe("string");
    expect(entries[1]?.error as string).toMatch(/^ERR /);
    expect(entries[1]).not.toHaveProperty("result");
    expect(entries[2]).toEqual({ result: "abc" });

    const kept = await redis.pipeline().incr(`${p}word`).get(`${p}ok`).exec({ keepErrors: true });
    expect(kept[0]?.error).toMatch(/^ERR /);
    expect(kept[1]).toEqual({ error: undefined, result: 1 });
    await expect(redis.pipeline().incr(`${p}word`).get(`${p}ok`).exec()).rejects.toThrow(/incr.*ERR /);
  });

  it("rejects malformed bodies with 400", async () => {
    for (const [path, body] of [
      ["/", "{not json"],
      ["/", ""],
      ["/", "[]"],
      ["/", '{"command":"get"}'],
      ["/", '["set","k",{"nested":1}]'],
      ["/pipeline", "[not json"],
      ["/pipeline", '["get","k"]'],
      ["/multi-exec", "{}"],
    ] as const) {
      const res = await raw(path, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      const reply = (await res.json()) as { error?: unknown };
      expect(typeof reply.error, `${path} ${body}`).toBe("string");
      expect((reply.error as string).length).toBeGreaterThan(0);
    }
  });
});
