import type * as Party from "partykit/server";
import { SERVICE_AUTH_HEADER, type ServerFrame } from "../src/shared/realtime.ts";
import { apiUrl, envOf } from "./env.ts";

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function send(conn: Party.Connection, frame: ServerFrame) {
  try {
    conn.send(JSON.stringify(frame));
  } catch {
    // socket already closing
  }
}

/** A call to the API's internal routes with the service credential and a timeout. */
export async function callApi(
  env: Record<string, unknown>,
  path: string,
  init: { method?: string; body?: unknown; requestId?: string } = {},
): Promise<{ status: number; body: unknown; retryAfter?: number; cost?: string }> {
  const res = await fetch(`${apiUrl(env)}${path}`, {
    method: init.method ?? "GET",
    headers: {
      [SERVICE_AUTH_HEADER]: envOf(env).SERVICE_TOKEN,
      "x-request-id": init.requestId ?? crypto.randomUUID(),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  const retryAfter = Number.parseInt(res.headers.get("retry-after") ?? "", 10);
  // X-Petrel-Cost (COST_HEADERS=on, tests and bench only): the call's database round trips.
  const cost = res.headers.get("x-petrel-cost") ?? undefined;
  return { status: res.status, body, ...(retryAfter >= 0 ? { retryAfter } : {}), ...(cost ? { cost } : {}) };
}
