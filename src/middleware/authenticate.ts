import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/**
 * Sets `c.var.auth` from the bearer token and never rejects (placeholder until the identity
 * work: no token is accepted yet). Routes that need a user use `requireAuth()`.
 */
export const authenticate = () =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    c.set("auth", null);
    await next();
  });

export const requireAuth = () =>
  createMiddleware<AppEnv>(async function requireAuth(c, next) {
    if (!c.var.auth) throw new ApiError("unauthorized", "A valid bearer token is required.");
    await next();
  });
