import { Toucan } from "toucan-js";

/**
 * Sentry through toucan-js, shared by the API (one client per request) and the PartyKit
 * parties (one per reported error). Free of Hono and of anything Worker-only, so party/ can
 * bundle it. What leaves the process is scrubbed twice: toucan's allow-lists keep only a few
 * headers and no cookies, and `scrubEvent` walks the whole event before it is sent.
 */

// toucan-js is typed against its own copy of @cloudflare/workers-types.
export type SentryContext = NonNullable<ConstructorParameters<typeof Toucan>[0]["context"]>;

/** Keys whose values never leave the process, at any depth (bodies, extras, contexts). */
const SECRET_KEYS =
  /pass(word)?|token|secret|authorization|cookie|^code$|ticket|email|session|jwt|credential/i;
// The token segment of /v1/invitations/<token>/accept, wherever a URL or route name is written.
const INVITATION_TOKEN_IN_PATH = /(?<=\/invitations\/)[^/?#\s"'\\]+(?=\/accept\b)/g;

/** Values that look like credentials, wherever they appear (messages included). */
const SECRET_VALUES: RegExp[] = [
  /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, // JWTs (access tokens, tickets)
  /\b(Bearer|Basic)\s+[\w.~+/=-]+/gi,
  /[\w.+-]+@[\w-]+(\.[\w-]+)+/g, // email addresses
  /\b[0-9a-f]{8}-[0-9a-f-]{27}\.\d+\.[\w-]{20,}/g, // refresh tokens: <session>.<generation>.<secret>
  // Invitation tokens travel in a path (/v1/invitations/<token>/accept): request url, transaction
  // name, breadcrumbs and messages all carry it.
  INVITATION_TOKEN_IN_PATH,
];
/** Query parameters that may be reported; every other one is dropped. */
const SAFE_QUERY = /^(limit|afterSeq|beforeSeq|unread|cursor|actorId|action)$/;
export const FILTERED = "[Filtered]";

export function scrubString(s: string): string {
  let out = s;
  for (const re of SECRET_VALUES) out = out.replace(re, FILTERED);
  return out;
}

/** A deep copy with secret keys and credential-looking strings filtered; bounded in depth and size. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubString(value.length > 2048 ? `${value.slice(0, 2048)}…` : value);
  if (value === null || typeof value !== "object") return value;
  if (depth > 12) return "[…]";
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.test(k) && v !== null && v !== undefined ? FILTERED : scrubValue(v, depth + 1);
  }
  return out;
}

type SentryEvent = Record<string, unknown> & {
  request?: Record<string, unknown>;
  user?: Record<string, unknown>;
};

/** The last line of defence before an event is sent (toucan's beforeSend). */
export function scrubEvent<E>(event: E): E {
  const e = event as SentryEvent;
  if (e.request) {
    delete e.request.cookies;
    const qs = e.request.query_string;
    if (typeof qs === "string" && qs) {
      const kept = [...new URLSearchParams(qs)].filter(([k]) => SAFE_QUERY.test(k));
      e.request.query_string = new URLSearchParams(kept).toString();
    }
  }
  // The user is an id, nothing else: no email, no IP, no username.
  if (e.user) e.user = typeof e.user.id === "string" ? { id: e.user.id } : {};
  // SDK-internal state (it holds the Request object) is never serialised: leave it untouched.
  const { sdkProcessingMetadata, ...rest } = e;
  const scrubbed = scrubValue(rest) as SentryEvent;
  if (sdkProcessingMetadata !== undefined) scrubbed.sdkProcessingMetadata = sdkProcessingMetadata;
  return scrubbed as E;
}

export interface SentryOptions {
  dsn: string;
  context?: SentryContext;
  request?: Request;
  environment: string;
  release?: string;
}

export function createSentry(opts: SentryOptions): Toucan {
  return new Toucan({
    dsn: opts.dsn,
    context: opts.context,
    request: opts.request,
    environment: opts.environment,
    release: opts.release,
    requestDataOptions: {
      allowedHeaders: ["user-agent", "content-type", "content-length", "x-request-id", "cf-ray"],
      allowedCookies: [],
      allowedSearchParams: SAFE_QUERY,
      allowedIps: false,
    },
    beforeSend: (event) => scrubEvent(event),
    beforeSendTransaction: () => null,
  });
}

/**
 * A context for code that has no ExecutionContext (party handlers): it collects the
 * envelope uploads so the caller can await them.
 */
export function collectingContext(): { context: SentryContext; flush(): Promise<void> } {
  const pending: Promise<unknown>[] = [];
  return {
    context: { waitUntil: (p: Promise<unknown>) => void pending.push(p) } as SentryContext,
    flush: async () => {
      await Promise.allSettled(pending);
    },
  };
}

/** What a request does with Sentry: scope data, and reports. */
export interface RequestSentry {
  setTag(key: string, value: string): void;
  setUser(user: { id: string }): void;
  setRequestBody(body: unknown): void;
  captureException(err: unknown): void;
  captureMessage(message: string, level: Parameters<Toucan["captureMessage"]>[1]): void;
}

/**
 * A request's Sentry scope whose client (a Toucan: hub, scope, transport) is built only when the
 * request reports something: nearly every request reports nothing. Scope data set before that
 * is kept and applied to the client first, so a report carries the same tags, user and body.
 */
export function lazySentry(opts: SentryOptions): RequestSentry {
  return new LazySentry(opts);
}

class LazySentry implements RequestSentry {
  #client: Toucan | undefined;
  #tags: [string, string][] = [];
  #user: { id: string } | undefined;
  #body: unknown;
  readonly #opts: SentryOptions;

  constructor(opts: SentryOptions) {
    this.#opts = opts;
  }

  setTag(key: string, value: string) {
    if (this.#client) this.#client.setTag(key, value);
    else this.#tags.push([key, value]);
  }

  setUser(user: { id: string }) {
    if (this.#client) this.#client.setUser(user);
    else this.#user = user;
  }

  setRequestBody(body: unknown) {
    if (this.#client) this.#client.setRequestBody(body);
    else this.#body = body;
  }

  captureException(err: unknown) {
    this.#built().captureException(err);
  }

  captureMessage(message: string, level: Parameters<Toucan["captureMessage"]>[1]) {
    this.#built().captureMessage(message, level);
  }

  #built(): Toucan {
    if (this.#client) return this.#client;
    const client = createSentry(this.#opts);
    for (const [k, v] of this.#tags) client.setTag(k, v);
    if (this.#user) client.setUser(this.#user);
    if (this.#body !== undefined) client.setRequestBody(this.#body);
    this.#client = client;
    return client;
  }
}
