import type { Context } from "hono";
import type { ServiceContext } from "../context/service-context.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/** The client's IP as Cloudflare reports it. */
export const clientIp = (c: Context<AppEnv>) => c.req.header("cf-connecting-ip") ?? null;

/** Build the framework-free context that services take. */
export function svc(c: Context<AppEnv>): ServiceContext {
  const s = c.var.services;
  return {
    db: s.database.db,
    config: c.var.config,
    log: c.var.log,
    kv: s.kv,
    cache: s.cache,
    mailer: s.mailer,
    realtime: s.realtime,
    meta: { ip: clientIp(c), userAgent: c.req.header("user-agent") ?? null, requestId: c.var.requestId },
    defer: (work) => {
      try {
        c.executionCtx.waitUntil(work);
      } catch {
        void work; // no execution context (plain app.request in a script): let it run
      }
    },
  };
}

/** The authenticated caller; routes behind requireAuth() only. */
export function caller(c: Context<AppEnv>) {
  const auth = c.var.auth;
  if (!auth) throw new ApiError("unauthorized");
  return auth;
}
