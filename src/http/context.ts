import type { Context } from "hono";
import type { ServiceContext } from "../context/service-context.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/** The client's IP as Cloudflare reports it. */
export const clientIp = (c: Context<AppEnv>) => c.req.header("cf-connecting-ip") ?? null;

/** The framework-free context that services take, built once per request by requestContext(). */
export const svc = (c: Context<AppEnv>): ServiceContext => c.get("ctx");

/** The authenticated caller; routes behind requireAuth() only. */
export function caller(c: Context<AppEnv>) {
  const auth = c.get("auth");
  if (!auth) throw new ApiError("unauthorized");
  return auth;
}
