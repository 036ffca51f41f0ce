import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { rateLimiter, type Store } from "hono-rate-limiter";
import { createIsolateMemoryStore, createRedisWindowStore } from "../adapters/rate-limit-store.ts";
import type { Config } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { IdSchema } from "../lib/ids.ts";
import { ipBucket } from "../lib/ip.ts";
import { createThrottledLog, errorFields } from "../lib/log.ts";

export interface RateLimitOptions {
  /** Separates the counters of different limits. */
  name: string;
  limit: (config: Config) => number;
  windowSeconds: (config: Config) => number;
  /** The counter key for this request, or undefined to skip (e.g. no email in the body). */
  key: (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>;
  /** What a store failure means: `closed` answers 503 (auth), `open` lets the request through. */
  onStoreFailure: "closed" | "open";
}

const stores = new Map<string, Store<AppEnv>>();
const throttled = createThrottledLog(30_000);

/** A limit's store in this isolate, by Redis URL, name, window and limit. */
function storeId(c: Context<AppEnv>, name: string, windowMs: number, limit: number): string {
  const url = c.get("config").UPSTASH_REDIS_REST_URL;
  return `${url ? "redis" : "memory"}|${url ?? ""}|${name}|${windowMs}|${limit}`;
}

function storeFor(c: Context<AppEnv>, name: string, windowMs: number, limit: number): Store<AppEnv> {
  const id = storeId(c, name, windowMs, limit);
  let store = stores.get(id);
  if (!store) {
    const kv = c.get("services").kv;
    // Not hono-rate-limiter's RedisStore: it shares a pending promise between requests (see
    // src/adapters/rate-limit-store.ts). One store per limit: its leases are sized from it.
    store = kv.redis
      ? (createRedisWindowStore(kv.redis, `rl:${name}:`, limit) as Store<AppEnv>)
      : (createIsolateMemoryStore() as Store<AppEnv>);
    stores.set(id, store);
  }
  return store;
}

export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<AppEnv> {
  // This limit's hono-rate-limiter instances, one per store (per isolate: built on first use,
  // since the store may need Redis, and Workers forbid I/O at module scope). The request's key
  // is computed first (it may read the body) and handed to the instance through `keys`.
  const limiters = new Map<string, MiddlewareHandler<AppEnv>>();
  const keys = new WeakMap<Context<AppEnv>, string>();

  function limiterFor(c: Context<AppEnv>, limit: number, windowMs: number): MiddlewareHandler<AppEnv> {
    const id = storeId(c, opts.name, windowMs, limit);
    let limiter = limiters.get(id);
    if (!limiter) {
      limiter = rateLimiter<AppEnv>({
        windowMs,
        limit,
        standardHeaders: false, // set below, so stacked limiters report the tightest one
        keyGenerator: (c) => keys.get(c)!,
        store: storeFor(c, opts.name, windowMs, limit),
        handler: (c) => {
          const info = c.get("rateLimit" as never) as RateLimitInfo | undefined;
          const reset = info?.resetTime
            ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000))
            : windowMs / 1000;
          // The refusal describes the limit that refused: drop what a limiter before it set.
          for (const h of RATE_LIMIT_HEADERS) c.header(h, undefined);
          throw new ApiError(
            "rate_limited",
            `Too many requests: at most ${limit} per ${windowMs / 1000} s.`,
            {
              headers: {
                "Retry-After": String(reset),
                "RateLimit-Limit": String(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": String(reset),
              },
            },
          );
        },
      });
      limiters.set(id, limiter);
    }
    return limiter;
  }

  return createMiddleware<AppEnv>(async function rateLimitMiddleware(c, next) {
    const key = await opts.key(c);
    if (key === undefined) return next();
    const config = c.get("config");
    const limit = opts.limit(config);
    const windowMs = opts.windowSeconds(config) * 1000;
    keys.set(c, key);
    let downstream = false;
    try {
      await limiterFor(
        c,
        limit,
        windowMs,
      )(c, async () => {
        downstream = true;
        setHeaders(c, c.get("rateLimit" as never) as RateLimitInfo | undefined, windowMs);
        await next();
      });
    } catch (err) {
      if (downstream || err instanceof ApiError) throw err;
      throttled(`rate-limit-${opts.name}`, () =>
        c.get("log").error("rate limit store unavailable", {
          limiter: opts.name,
          mode: opts.onStoreFailure,
          ...errorFields(err),
        }),
      );
      if (opts.onStoreFailure === "closed") {
        throw new ApiError(
          "dependency_unavailable",
          "Rate limiting is temporarily unavailable. Retry later.",
          { headers: { "Retry-After": "5" } },
        );
      }
      await next();
    }
  });
}

const RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] as const;

interface RateLimitInfo {
  limit: number;
  remaining: number;
  resetTime?: Date;
}

/** What the tightest limiter so far left this request (read here, not from c.res: see setHeaders). */
const tightest = new WeakMap<Context<AppEnv>, number>();

/**
 * RateLimit-* headers (draft 6); with several limiters on a route, the one with the least left
 * wins. Set with c.header() before the handler runs: touching c.res now would make Hono build a
 * placeholder response and copy it into the real one.
 */
function setHeaders(c: Context<AppEnv>, info: RateLimitInfo | undefined, windowMs: number) {
  if (!info) return;
  const current = tightest.get(c);
  if (current !== undefined && current <= info.remaining) return;
  tightest.set(c, info.remaining);
  const reset = info.resetTime
    ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000))
    : windowMs / 1000;
  c.header("RateLimit-Limit", String(info.limit));
  c.header("RateLimit-Remaining", String(info.remaining));
  c.header("RateLimit-Reset", String(reset));
}

/** The client IP's bucket; IPv6 addresses are grouped by their canonical /64 (see src/lib/ip.ts). */
export function ipKey(c: Context<AppEnv>): string {
  return ipBucket(c.req.header("cf-connecting-ip"));
}

/**
 * The general API limit: per user when authenticated (per IP otherwise), in the middleware of
 * every /v1 route except auth (limited separately, stricter) and the parties' internal routes.
 * Fails open: a Redis outage must not take the API down with it.
 */
const api = {
  name: "api",
  limit: (c: Config) => c.API_RATE_LIMIT,
  windowSeconds: (c: Config) => c.API_RATE_WINDOW_SECONDS,
  onStoreFailure: "open",
} as const;

export const apiLimit = rateLimit({
  ...api,
  key: (c) => {
    const auth = c.get("auth");
    return auth ? `user:${auth.userId}` : `ip:${ipKey(c)}`;
  },
});

/**
 * The same budget (counter and key) for a socket message the party persists on the author's
 * behalf (POST /v1/internal/rooms/:roomId/messages, service credential): REST posts and socket
 * messages of one user draw from one budget. An invalid body is left to the validator (400).
 */
export const authorApiLimit = rateLimit({
  ...api,
  key: async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { authorId?: unknown } | undefined;
    const author = IdSchema.safeParse(body?.authorId);
    return author.success ? `user:${author.data}` : undefined;
  },
});

/** Auth routes: one per-IP budget shared by all of them (register, login, refresh, OAuth...), fails closed. */
export const authIpRateLimit = () =>
  rateLimit({
    name: "auth-ip",
    limit: (c) => c.AUTH_RATE_LIMIT,
    windowSeconds: (c) => c.AUTH_RATE_WINDOW_SECONDS,
    key: (c) => ipKey(c),
    onStoreFailure: "closed",
  });

/**
 * GET /ready reaches every dependency on each call: per IP, so nobody turns it into a load
 * amplifier. Fails open: a Redis outage is what /ready must be able to report.
 */
export const readyRateLimit = () =>
  rateLimit({
    name: "ready",
    limit: (c) => c.READY_RATE_LIMIT,
    windowSeconds: () => 60,
    key: (c) => ipKey(c),
    onStoreFailure: "open",
  });

/**
 * The per-user API budget for many socket messages in one call (the group commit route): one
 * hit per message on the same counter as `apiLimit`/`authorApiLimit`, in the given order.
 * Returns, per message, undefined (admitted) or the seconds to wait. Fails open like the API
 * limit: with the store down every message is admitted.
 */
export async function consumeApiBudget(
  c: Context<AppEnv>,
  userIds: string[],
): Promise<(number | undefined)[]> {
  const limit = api.limit(c.var.config);
  const windowMs = api.windowSeconds(c.var.config) * 1000;
  const store = storeFor(c, api.name, windowMs, limit);
  await store.init?.({ windowMs } as Parameters<NonNullable<Store<AppEnv>["init"]>>[0]);
  const out: (number | undefined)[] = [];
  for (const userId of userIds) {
    try {
      const { totalHits, resetTime } = await store.increment(`user:${userId}`);
      const wait = resetTime ? Math.ceil((resetTime.getTime() - Date.now()) / 1000) : windowMs / 1000;
      out.push(totalHits > limit ? Math.max(1, wait) : undefined);
    } catch (err) {
      throttled("rate-limit-api-batch", () =>
        c.var.log.error("rate limit store unavailable", {
          limiter: api.name,
          mode: "open",
          ...errorFields(err),
        }),
      );
      out.push(undefined);
    }
  }
  return out;
}
