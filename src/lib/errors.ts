/**
 * The closed list of error codes. Codes are part of the public contract: never rename one.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: "Validation failed" },
  invalid_credentials: { status: 401, title: "Invalid credentials" },
  unauthorized: { status: 401, title: "Unauthorized" },
  token_expired: { status: 401, title: "Token expired" },
  csrf_failed: { status: 403, title: "CSRF check failed" },
  forbidden: { status: 403, title: "Forbidden" },
  quota_exceeded: { status: 403, title: "Quota exceeded" },
  email_not_verified: { status: 403, title: "Email not verified" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  gone: { status: 410, title: "Gone" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal server error" },
  dependency_unavailable: { status: 503, title: "Dependency unavailable" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    opts: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title, { cause: opts.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

/** A dependency (database, cache, storage, realtime) failed or timed out. */
export class DependencyError extends Error {
  readonly dependency: string;
  readonly retryAfter: number;
  constructor(dependency: string, cause?: unknown, retryAfter = 5) {
    super(`${dependency} unavailable`, { cause });
    this.name = "DependencyError";
    this.dependency = dependency;
    this.retryAfter = retryAfter;
  }
}

export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "validation_failed";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "rate_limited";
    case 503:
      return "dependency_unavailable";
    default:
      return "internal";
  }
}
