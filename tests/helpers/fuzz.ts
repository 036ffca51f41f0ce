/**
 * OpenAPI-driven generators of malformed requests (fast-check). Every operation of
 * GET /openapi.json is fuzzed, so a new route is covered as soon as it is documented.
 * Each generated request starts from a valid-looking one (schema-conforming body, the
 * fixture's ids, a good credential) and breaks exactly one thing that the route must refuse:
 * a body field, the body as a whole, a path id, a query value, the credential or the method.
 * Body text is full Unicode (tests/helpers/fuzz-text.ts); every string field is also sent with a
 * lone surrogate and with a control character, which no stored text may carry.
 * Mutations are chosen so that the request can never be valid, which is what lets the test
 * demand "4xx, and not a row written".
 */
import fc from "fast-check";
import { SERVICE_AUTH_HEADER } from "../../src/shared/realtime.ts";
import { controlText, illFormedText } from "./fuzz-text.ts";
import {
  breaksConstraint,
  type Operation,
  type Schema,
  typesOf,
  valid,
  wrongType,
} from "./openapi-schema.ts";

export { type Operation, operationsOf } from "./openapi-schema.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by `npm run fuzz` (scripts/fuzz.ts); the normal run sends 2,000. */
    fuzzRequests?: number;
    fuzzSeed?: number;
  }
}

export interface FuzzWorld {
  /** Real ids of the fuzz fixture by path-parameter name; unknown names get fresh UUIDs. */
  ids: Record<string, string>;
  bearer: string;
  serviceToken: string;
  /** The body limit for a route, as the Worker enforces it. */
  bodyLimit(op: Operation): number;
}
export interface FuzzRequest {
  op: string;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body as a stream without Content-Length (chunked). */
  chunked?: boolean;
}

const WRONG_MEDIA_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonp",
  "application/xml",
];

const GARBAGE_AUTH = fc.oneof(
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Bearer a.b.c",
    "Basic dXNlcjpwYXNz",
    "bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    `Bearer ${"A".repeat(8000)}`,
    "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6Im5vcGUifQ.e30.c2ln",
  ),
  fc
    .tuple(
      fc.base64String({ maxLength: 60 }),
      fc.base64String({ maxLength: 200 }),
      fc.base64String({ maxLength: 90 }),
    )
    .map(([h, p, s]) => `Bearer ${h}.${p}.${s}`.replace(/[+/=]/g, "_")),
  fc.string({ maxLength: 64 }).map((s) => `Bearer ${s}`),
);

const BAD_IDS = fc.oneof(
  fc.uuid({ version: 4 }).map((u) => u.toUpperCase()),
  fc.constantFrom(
    "1.00",
    "%31",
    "1",
    "..%2F..%2Fetc",
    "null",
    "undefined",
    "%00",
    "'%20OR%201=1--",
    "%F0%9F%A6%9C",
    "%ED%A0%80", // a lone surrogate, WTF-8 encoded
    "%C0%AE", // an overlong "."
  ),
  fc.uuid({ version: 4 }).map((u) => `${u}%0A`),
  fc.uuid({ version: 4 }).map((u) => `${u.slice(0, -1)}g`),
  fc.constant("a".repeat(3000)),
);

type Parts = Partial<FuzzRequest> & { ids?: Record<string, string> };
type Make = (kind: string, parts?: Parts) => FuzzRequest;
const JSON_TYPE = { "content-type": "application/json" };

/** The malformations that apply to this operation, each as a request generator. */
export function malformed(op: Operation, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const fill = (values: Record<string, string>) =>
    op.path.replace(
      /\{([^}]+)\}/g,
      (_, name: string) => values[name] ?? world.ids[name] ?? crypto.randomUUID(),
    );
  const make: Make = (kind, parts = {}) => {
    const req: FuzzRequest = {
      op: op.id,
      kind,
      method: parts.method ?? op.method,
      path: parts.path ?? fill(parts.ids ?? {}),
      headers: { ...credentials(op, world), ...parts.headers },
      body: parts.body,
      chunked: parts.chunked,
    };
    // fast-check prints counterexamples with this: short, whatever the body's size.
    const body = typeof req.body === "string" ? req.body.slice(0, 120) : req.body ? "(bytes)" : "";
    Object.defineProperty(req, fc.toStringMethod, {
      value: () => `${kind}: ${req.method} ${req.path.slice(0, 120)} ${body}`,
    });
    return req;
  };
  const kinds = [
    ...(op.body ? bodyKinds(op.body, make, world.bodyLimit(op)) : []),
    ...inputKinds(op, make, fill),
    ...credentialKinds(op, make, world),
  ];
  const other = ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => !op.pathMethods.includes(m));
  if (other.length) kinds.push(fc.constantFrom(...other).map((m) => make("wrong method", { method: m })));
  return fc.oneof(...kinds);
}

/** A good credential for the operation, from a client IP that only the fuzzer uses (198.18.0.0/16). */
function credentials(op: Operation, world: FuzzWorld): Record<string, string> {
  const octet = () => Math.floor(Math.random() * 256);
  return {
    "cf-connecting-ip": `198.18.${octet()}.${octet()}`,
    ...(op.auth === "bearer" ? { authorization: `Bearer ${world.bearer}` } : {}),
    ...(op.auth === "service" ? { [SERVICE_AUTH_HEADER]: world.serviceToken } : {}),
  };
}

/** One broken field (type or constraint), or a broken body as a whole. */
function bodyKinds(schema: Schema, make: Make, limit: number): fc.Arbitrary<FuzzRequest>[] {
  const base = valid(schema) as fc.Arbitrary<Record<string, unknown>>;
  const send = (kind: string, text: fc.Arbitrary<string>) =>
    text.map((body) => make(kind, { body, headers: JSON_TYPE }));
  const withField = (name: string, value: fc.Arbitrary<unknown>) =>
    fc.tuple(base, value).map(([b, v]) => JSON.stringify({ ...b, [name]: v }));
  const kinds: fc.Arbitrary<FuzzRequest>[] = [];
  if (schema.additionalProperties === false)
    kinds.push(send("extra key", withField("x_unknown", fc.constantFrom(1, "x", null))));
  if (schema.required?.length) {
    const dropped = fc.tuple(base, fc.constantFrom(...schema.required)).map(([b, k]) => {
      const { [k]: _, ...rest } = b;
      return JSON.stringify(rest);
    });
    kinds.push(send("missing field", dropped));
  }
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (typesOf(field).length > 0) kinds.push(send(`wrong type: ${name}`, withField(name, wrongType(field))));
    const broken = breaksConstraint(field);
    if (broken) kinds.push(send(`constraint: ${name}`, withField(name, broken)));
    // Every string, whatever its pattern or enum, must be well-formed Unicode; only secrets
    // (passwords, never stored as sent) may carry control characters.
    const items = field.items && typesOf(field.items).includes("string");
    if (!typesOf(field).includes("string") && !items) continue;
    const wrap = (a: fc.Arbitrary<string>) => (items ? a.map((v) => [v]) : a);
    kinds.push(send(`ill-formed text: ${name}`, withField(name, wrap(illFormedText))));
    if (field.format !== "password")
      kinds.push(send(`control character: ${name}`, withField(name, wrap(controlText))));
  }
  const proto = fc.constantFrom(
    '"__proto__":{"polluted":"yes"}',
    '"constructor":{"prototype":{"polluted":"yes"}}',
  );
  const keys = (n: number) =>
    JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
  kinds.push(
    send(
      "prototype key",
      fc
        .tuple(base, proto)
        .map(([b, k]) => `{${k}${Object.keys(b).length ? `,${JSON.stringify(b).slice(1)}` : "}"}`),
    ),
    send(
      "too deep",
      fc.integer({ min: 17, max: 400 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
    ),
    send("too many keys", fc.integer({ min: 513, max: 1500 }).map(keys)),
    send(
      "not JSON",
      fc.oneof(
        fc.constantFrom("{", '{"a":', "{'a':1}", "[1,2", "NaN", "\u0000", ""),
        fc.string({ maxLength: 30 }).filter((s) => !isJson(s)),
      ),
    ),
    send(
      "not an object",
      fc.oneof(
        fc.constantFrom("null", "42", '"text"', "[]", "true"),
        base.map((b) => JSON.stringify([b])),
      ),
    ),
    fc
      .tuple(base, fc.constantFrom(...WRONG_MEDIA_TYPES))
      .map(([b, type]) =>
        make("wrong media type", { body: JSON.stringify(b), headers: { "content-type": type } }),
      ),
    base.map((b) => make("no media type", { body: new TextEncoder().encode(JSON.stringify(b)) })),
    fc.boolean().map((chunked) =>
      make(chunked ? "too large, chunked" : "too large", {
        body: JSON.stringify({ pad: "x".repeat(limit) }),
        headers: JSON_TYPE,
        chunked,
      }),
    ),
  );
  return kinds;
}

/** A bad or unknown path id, a bad or missing query value, a header outside its enum. */
function inputKinds(op: Operation, make: Make, fill: (ids: Record<string, string>) => string) {
  const kinds: fc.Arbitrary<FuzzRequest>[] = [];
  for (const p of op.params.filter((x) => x.in === "path")) {
    const bad = p.schema.pattern || p.schema.maxLength ? BAD_IDS : fc.constant("a".repeat(3000));
    kinds.push(bad.map((v) => make(`bad path: ${p.name}`, { ids: { [p.name]: v } })));
    kinds.push(fc.uuid({ version: 4 }).map((v) => make(`unknown id: ${p.name}`, { ids: { [p.name]: v } })));
  }
  const query = op.params.filter((x) => x.in === "query");
  if (op.method === "GET") {
    for (const p of query) {
      const broken = breaksConstraint(p.schema) ?? fc.constant("x".repeat(5000));
      const path = (v: unknown) => `${fill({})}?${p.name}=${encodeURIComponent(String(v))}`;
      kinds.push(broken.map((v) => make(`bad query: ${p.name}`, { path: path(v) })));
    }
    if (query.some((p) => p.required)) kinds.push(fc.constant(null).map(() => make("missing query")));
  }
  for (const p of op.params.filter((x) => x.in === "header" && x.schema.enum)) {
    const outside = fc
      .string({ maxLength: 20 })
      .filter((v) => /^[\x21-\x7e]+$/.test(v) && !p.schema.enum!.includes(v));
    kinds.push(
      outside.map((v) =>
        make(`bad header: ${p.name}`, { headers: { [p.name]: v, ...JSON_TYPE }, body: "{}" }),
      ),
    );
  }
  return kinds;
}

/** A forged, malformed or wrong-kind credential. */
function credentialKinds(op: Operation, make: Make, world: FuzzWorld) {
  const kinds: fc.Arbitrary<FuzzRequest>[] = [];
  if (op.auth === "bearer") {
    kinds.push(GARBAGE_AUTH.map((a) => make("bad credential", { headers: { authorization: a } })));
    const service = { authorization: `Bearer ${world.serviceToken}` };
    kinds.push(fc.constant(null).map(() => make("service token as bearer", { headers: service })));
  }
  if (op.auth === "service") {
    const bad = fc.constantFrom("", "x", world.bearer);
    kinds.push(bad.map((t) => make("bad service token", { headers: { [SERVICE_AUTH_HEADER]: t } })));
  }
  return kinds;
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}
