/**
 * The OpenAPI document as the fuzzer sees it: operations with resolved schemas, and fast-check
 * arbitraries for values that conform to a schema, have the wrong JSON type, or break one of
 * its constraints. Hand-written: a JSON-Schema → fast-check bridge for the subset zod-openapi
 * emits (objects, arrays, strings with patterns and lengths, numbers with bounds, enums, anyOf).
 */
import fc from "fast-check";
import { wellFormedText } from "./fuzz-text.ts";

export interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}
interface Parameter {
  in: "path" | "query" | "header" | "cookie";
  name: string;
  required?: boolean;
  schema: Schema;
}
export interface Operation {
  id: string;
  method: string;
  path: string;
  params: Parameter[];
  /** The JSON body schema, when the operation takes JSON. */
  body?: Schema;
  auth: "bearer" | "service" | "none";
  /** Every method documented for this path: a "wrong method" must be none of them. */
  pathMethods: string[];
  /** The route's own body limit (`x-body-limit`), when it has one below the configured default. */
  bodyLimit?: number;
}
type Doc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, Schema> };
};

export function operationsOf(doc: Doc): Operation[] {
  const resolve = (s: Schema | undefined, depth = 0): Schema => {
    if (!s || depth > 20) return {};
    if (s.$ref) return resolve(doc.components?.schemas?.[s.$ref.split("/").pop()!], depth + 1);
    if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => resolve(x, depth + 1)));
    const out: Schema = { ...s };
    if (s.properties)
      out.properties = Object.fromEntries(
        Object.entries(s.properties).map(([k, v]) => [k, resolve(v, depth + 1)]),
      );
    if (s.items) out.items = resolve(s.items, depth + 1);
    if (s.anyOf) out.anyOf = s.anyOf.map((x) => resolve(x, depth + 1));
    if (s.oneOf) out.oneOf = s.oneOf.map((x) => resolve(x, depth + 1));
    return out;
  };
  const ops: Operation[] = [];
  const METHODS = ["get", "post", "put", "patch", "delete"];
  for (const [path, item] of Object.entries(doc.paths)) {
    const pathMethods = Object.keys(item)
      .filter((m) => METHODS.includes(m))
      .map((m) => m.toUpperCase());
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const op = raw as {
        parameters?: Parameter[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
        security?: Array<Record<string, unknown>>;
        "x-body-limit"?: number;
      };
      const schemes = new Set((op.security ?? []).flatMap((s) => Object.keys(s)));
      const json = op.requestBody?.content?.["application/json"]?.schema;
      ops.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) })),
        body: json ? resolve(json) : undefined,
        auth: schemes.has("bearerAuth") ? "bearer" : schemes.has("serviceToken") ? "service" : "none",
        pathMethods,
        bodyLimit: op["x-body-limit"],
      });
    }
  }
  return ops;
}

export const typesOf = (s: Schema): string[] =>
  s.anyOf || s.oneOf
    ? [...(s.anyOf ?? s.oneOf ?? []).flatMap(typesOf)]
    : Array.isArray(s.type)
      ? s.type
      : s.type
        ? [s.type]
        : [];

/** A value that conforms to the schema (best effort; emails land in the fuzz domain). */
export function valid(s: Schema, name = ""): fc.Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf || s.oneOf) return fc.oneof(...(s.anyOf ?? s.oneOf ?? []).map((x) => valid(x, name)));
  const type = typesOf(s).find((t) => t !== "null");
  if (type === "object") {
    const props = Object.entries(s.properties ?? {});
    const required = new Set(s.required ?? []);
    return fc.record(Object.fromEntries(props.map(([k, v]) => [k, valid(v, k)])), {
      requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)),
    });
  }
  if (type === "array")
    return fc.array(valid(s.items ?? {}, name), {
      minLength: s.minItems ?? 0,
      maxLength: Math.min(s.maxItems ?? 3, 3),
    });
  if (type === "integer") return fc.integer({ min: s.minimum ?? 0, max: Math.min(s.maximum ?? 1e6, 1e6) });
  if (type === "number") return fc.double({ min: s.minimum ?? 0, max: s.maximum ?? 1e6, noNaN: true });
  if (type === "boolean") return fc.boolean();
  if (s.format === "uuid") return fc.uuid({ version: 4 });
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern));
  if (/email/i.test(name)) return fc.stringMatching(/^[a-z0-9]{1,20}$/).map((l) => `fz-${l}@fuzz.invalid`);
  // Full Unicode (every plane, composite graphemes), not only printable ASCII.
  return wellFormedText(s.minLength ?? 0, s.maxLength ?? 40);
}

const ANY_JSON = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constant(1e308),
  fc.string({ maxLength: 20 }),
  fc.constant([]),
  fc.constant({}),
  fc.constant([{ nested: ["x"] }]),
);
const jsonTypeOf = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;

/** A value of a JSON type the schema does not allow. */
export function wrongType(s: Schema): fc.Arbitrary<unknown> {
  const allowed = new Set(typesOf(s));
  if (allowed.has("number")) allowed.add("integer");
  return ANY_JSON.filter(
    (v) => !allowed.has(jsonTypeOf(v)) && !(allowed.has("integer") && typeof v === "number"),
  );
}

/** A value of the right type that breaks a constraint, or undefined when there is none to break. */
export function breaksConstraint(s: Schema): fc.Arbitrary<unknown> | undefined {
  const options: fc.Arbitrary<unknown>[] = [];
  if (s.enum) options.push(fc.string({ maxLength: 12 }).filter((x) => !s.enum!.includes(x)));
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    const odd = [
      "",
      " ",
      "A".repeat(300),
      "1.00",
      "%31",
      "../..",
      "' OR 1=1--",
      "\u0000",
      "ＡＢＣ",
      "🦜",
      "NaN",
    ];
    options.push(fc.oneof(fc.constantFrom(...odd), fc.string({ maxLength: 40 })).filter((x) => !re.test(x)));
  }
  if (s.format === "uuid") options.push(fc.constantFrom("not-a-uuid", "0193", "{}"));
  if (s.maxLength !== undefined) options.push(fc.constant("x".repeat(s.maxLength + 1)));
  if (s.minLength) options.push(fc.constant(""));
  const type = typesOf(s)[0];
  if (type === "integer" || type === "number") {
    if (s.minimum !== undefined) options.push(fc.integer({ min: -1e6, max: s.minimum - 1 }));
    if (s.maximum !== undefined) options.push(fc.integer({ min: s.maximum + 1, max: s.maximum + 1e6 }));
    if (type === "integer") options.push(fc.constantFrom(1.5, 0.000001, 2 ** 60 + 0.5));
  }
  if (type === "array") {
    if (s.maxItems !== undefined) options.push(fc.constant(Array(s.maxItems + 1).fill(null)));
    if (s.items) options.push(wrongType(s.items).map((x) => [x]));
  }
  return options.length ? fc.oneof(...options) : undefined;
}
