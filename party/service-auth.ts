import type * as Party from "partykit/server";

export const SERVICE_AUTH_HEADER = "x-petrel-service-token";

/** Constant-time comparison of the service credential (hand-written: a dozen lines, no dependency). */
export function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

export function isServiceRequest(req: Party.Request, env: Record<string, unknown>): boolean {
  const expected = env.SERVICE_TOKEN;
  const got = req.headers.get(SERVICE_AUTH_HEADER);
  return (
    typeof expected === "string" && expected.length >= 32 && got !== null && timingSafeEqual(got, expected)
  );
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
