import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import worker from "../../src/index.ts";

export const BASE = "http://petrel.test";

/** A request through the Worker in workerd, exactly as production receives it. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
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

export function jsonBody(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
  };
}

/** Stop or start a fault-injection service (a second sqld or Redis that only fault tests use). */
export async function control(
  service: "fault-sqld" | "fault-redis",
  action: "stop" | "start",
): Promise<void> {
  const res = await fetch(`${inject("controlUrl")}/services/${service}/${action}`, { method: "POST" });
  if (res.status !== 204)
    throw new Error(`control ${service} ${action} failed: ${res.status} ${await res.text()}`);
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
