import { ERROR_CODES, type ErrorCode, type FieldError } from "./errors.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  requestId: string;
  errors?: FieldError[];
}

export function problem(
  code: ErrorCode,
  requestId: string,
  extra: { detail?: string; errors?: FieldError[]; status?: number } = {},
): Problem {
  const def = ERROR_CODES[code];
  const p: Problem = {
    type: `https://petrel.dev/problems/${code.replaceAll("_", "-")}`,
    title: def.title,
    status: extra.status ?? def.status,
    code,
    requestId,
  };
  if (extra.detail) p.detail = extra.detail;
  if (extra.errors?.length) p.errors = extra.errors;
  return p;
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
  });
}
