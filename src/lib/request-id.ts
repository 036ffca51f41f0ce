/**
 * The X-Request-Id rule of the API contract, shared by the API's middleware and the parties:
 * an incoming id of 1–128 characters from [A-Za-z0-9._-] is echoed, anything else replaced.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The incoming request id if it is well-formed, else a fresh one. */
export function requestIdOr(incoming: string | null | undefined): string {
  return incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : crypto.randomUUID();
}
