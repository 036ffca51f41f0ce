import { expect } from "vitest";

/** Assert a problem+json response with the given status and code; returns the body. */
export async function expectProblem(res: Response, status: number, code: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.title).toBe("string");
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}
