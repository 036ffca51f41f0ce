import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import type { z } from "zod";
import worker from "../../src/index.ts";

export const BASE = "http://petrel.test";

/** A request through the Worker in workerd, exactly as production receives it. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * Like api(), but resolves only once the request's deferred work (ctx.waitUntil: mail, Sentry
 * events, publishing) has finished too: negative checks ("nothing was sent") need no sleep.
 */
export function settled(path: string, init?: RequestInit): Promise<Response> {
  return apiWithEnv({}, path, init);
}

/** The same Worker, but with some bindings replaced (e.g. a database that is down). */
export async function apiWithEnv(
  overrides: Record<string, string>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext();
  // The handler's type wants an incoming request's `cf`; a test-made Request has none.
  const request = new Request(`${BASE}${path}`, init) as Parameters<typeof worker.fetch>[0];
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/**
 * A response body parsed with the API's own schema (the one that generates its OpenAPI), so a
 * helper's result is typed by the contract and a response that breaks it fails the test.
 */
export async function parsed<S extends z.ZodType>(res: Response, schema: S): Promise<z.output<S>> {
  return schema.parse(await res.json());
}

export function jsonBody(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
  };
}

type FaultService = "fault-sqld" | "fault-redis" | "fault-partykit";

async function controlCall(path: string, method = "POST"): Promise<Response> {
  const res = await fetch(`${inject("controlUrl")}${path}`, { method });
  if (!res.ok) throw new Error(`control ${path} failed: ${res.status} ${await res.text()}`);
  return res;
}

/**
 * Run `fn` holding the only lease on a fault-injection service (a second sqld or Redis that only
 * fault tests use), so no other test stops or uses it meanwhile. `fn` may stop and start it;
 * the service is running again, and the lease released, when this returns.
 */
export async function withFault<T>(
  service: FaultService,
  fn: (ctl: { stop(): Promise<void>; start(): Promise<void> }) => Promise<T>,
): Promise<T> {
  const lease = await (await controlCall(`/services/${service}/lease`)).text();
  const act = (action: "stop" | "start") => async () => {
    await controlCall(`/services/${service}/${action}`);
  };
  try {
    return await fn({ stop: act("stop"), start: act("start") });
  } finally {
    await act("start")();
    await controlCall(`/services/${service}/release?lease=${lease}`);
  }
}

/** CPU use of one of the suite's sqld over `ms`, in percent of one core (read by the Node side). */
export async function sqldCpuPercent(which: "sqld" | "fault-sqld", ms = 1000): Promise<number> {
  const res = await controlCall(`/services/${which}/cpu?ms=${ms}`, "GET");
  return ((await res.json()) as { percent: number }).percent;
}

export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
