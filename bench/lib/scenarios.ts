/**
 * The benchmark scenarios, as data. To add one, append an entry to `scenarios`:
 *
 *   { name: "me", method: "GET", path: "/v1/me",
 *     setup: async (ctx) => ({ headers: { authorization: `Bearer ${await login(ctx)}` } }) }
 *
 * - `body` objects are sent as JSON (content-type added); strings as they are.
 * - `setup` runs once before the scenario's probe and warm-up, against the running stack
 *   (create users, log in, seed rows…). What it returns overrides the static fields; its
 *   `setupRequest` runs before *every* request (autocannon's hook) for values that must be
 *   fresh each time, e.g. a new refresh token per request (reuse is answered with 401).
 * - Every scenario is probed with one request first: an `optional` scenario answering 404 is
 *   reported as "missing" instead of measured.
 * - The app's rate limits apply: a scenario that exceeds them measures 429s (the non-2xx column).
 *   Set higher limits through the Worker's vars (`vars` in run.ts) or exempt the load client.
 */
import type { AutocannonRequest } from "autocannon";
import { cacheScenarios } from "./cache-scenarios.ts";
import { dbBaselines } from "./db-baselines.ts";
import { identityScenarios } from "./identity-scenarios.ts";
import type { LoadOptions, Row } from "./load.ts";
import type { BenchServices } from "./services.ts";
import { webhookScenario } from "./webhook-scenario.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Body = string | Record<string, unknown> | unknown[];

export interface BenchContext {
  /** The Worker, e.g. http://127.0.0.1:PORT (no trailing slash). */
  baseUrl: string;
  services: BenchServices;
  /** Every string binding the Worker got (JWT keys, SERVICE_TOKEN, URLs…). */
  vars: Readonly<Record<string, string>>;
  /** fetch() against the Worker with a path, e.g. ctx.request("/v1/auth/login", { method: "POST", … }). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The workerd process serving the Worker: its CPU per request goes in the cost table. */
  workerPid: number | undefined;
}

export interface Prepared {
  path?: string;
  headers?: Record<string, string>;
  body?: Body;
  /** Called before each request; return the (possibly changed) request. */
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  /** Called with each response (per connection `context`), e.g. to keep a rotated token. */
  onResponse?: AutocannonRequest["onResponse"];
  /** Called after the scenario ran (also when it failed). */
  teardown?: () => Promise<void>;
  /** The process serving the load when it is not the Worker (a baseline server): its CPU is measured. */
  servedBy?: number;
}

export interface Scenario {
  name: string;
  method: Method;
  path: string;
  headers?: Record<string, string>;
  body?: Body;
  description?: string;
  /** A 404 on the probe means "not implemented yet": report the row as missing. */
  optional?: boolean;
  setup?: (ctx: BenchContext) => Promise<Prepared | undefined>;
  /** A baseline measured without the Worker (e.g. straight to sqld): replaces setup, probe and autocannon. */
  run?: (ctx: BenchContext, opts: LoadOptions) => Promise<Partial<Row>>;
}

/** Ratios are relative to the first of these that was measured (`bare` until it exists, then `health`). */
export const BASELINES = ["bare", "health"] as const;

export const scenarios: Scenario[] = [
  {
    name: "bare",
    method: "GET",
    path: "/bench/bare",
    optional: true,
    description: "A bare Hono route in the same Worker, answered before any middleware (baseline)",
  },
  {
    name: "health",
    method: "GET",
    path: "/health",
    description: "Liveness through the full middleware stack; touches no dependency",
  },
  ...identityScenarios,
  ...cacheScenarios.filter((s) => s.name !== "me-redis-down"),
  ...dbBaselines, // next to messages-post: the database's own ceiling on this machine
  webhookScenario, // messages-post with a subscribed webhook endpoint
  // Last among HTTP rows: it stops and restarts redis-server.
  ...cacheScenarios.filter((s) => s.name === "me-redis-down"),
];

/** The request a scenario sends, after its setup: static fields overridden by what setup returned. */
export function resolveRequest(s: Scenario, p: Prepared | undefined): AutocannonRequest & { path: string } {
  const body = p?.body ?? s.body;
  const headers: Record<string, string> = { ...s.headers, ...p?.headers };
  const isJson = body !== undefined && typeof body !== "string";
  if (isJson && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
    headers["content-type"] = "application/json";
  }
  const req: AutocannonRequest & { path: string } = { method: s.method, path: p?.path ?? s.path, headers };
  if (body !== undefined) req.body = isJson ? JSON.stringify(body) : body;
  // autocannon calls setupRequest whenever the key exists, even when it is undefined.
  if (p?.setupRequest) req.setupRequest = p.setupRequest;
  if (p?.onResponse) req.onResponse = p.onResponse;
  return req;
}

/** `--only a,b`: keep the named scenarios, in list order; unknown names are an error. */
export function selectScenarios(only: string | undefined): Scenario[] {
  if (!only) return scenarios;
  const names = only
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s): ${unknown.join(", ")} (known: ${scenarios.map((s) => s.name).join(", ")})`,
    );
  }
  return scenarios.filter((s) => names.includes(s.name));
}
