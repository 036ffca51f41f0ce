import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError, type ErrorCode } from "../lib/errors.ts";
import { isSessionRevoked } from "../services/identity/revocation.ts";
import { verifyAccessToken } from "../services/identity/tokens.ts";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/**
 * Reads the bearer token, sets `c.var.auth`, and never rejects: a missing or bad token leaves
 * `auth` null and records why, so `requireAuth()` can answer 401 with the right code.
 */
export const authenticate = () =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    const header = c.req.header("authorization"); // auth is null until proven (requestContext)
    if (header) {
      const m = BEARER.exec(header);
      if (!m) {
        c.set("authError", "unauthorized");
      } else {
        try {
          const config = c.get("config");
          const claims = await verifyAccessToken(config, m[1]!);
          // The database client is built only when the revocation view needs a refresh.
          const db = () => c.get("ctx").db;
          if (await isSessionRevoked(claims.sid, db, config, c.get("log"))) {
            c.set("authError", "unauthorized");
          } else {
            c.set("auth", { userId: claims.sub, sessionId: claims.sid, role: claims.role });
            c.get("sentry")?.setUser({ id: claims.sub });
          }
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          c.set("authError", err.code);
        }
      }
    }
    await next();
  });

export const requireAuth = () =>
  createMiddleware<AppEnv>(async function requireAuth(c, next) {
    if (!c.get("auth")) {
      const code: ErrorCode = c.get("authError") ?? "unauthorized";
      throw new ApiError(
        code,
        code === "token_expired" ? "The access token has expired." : "A valid bearer token is required.",
        {
          headers: {
            "WWW-Authenticate": `Bearer realm="petrel"${code === "token_expired" ? ', error="invalid_token"' : ""}`,
          },
        },
      );
    }
    await next();
  });

/** Global admins only (the JWT's role; a role change revokes the user's sessions). */
export const requireGlobalAdmin = () =>
  createMiddleware<AppEnv>(async function requireGlobalAdmin(c, next) {
    if (c.get("auth")?.role !== "admin") throw new ApiError("forbidden", "Global admins only.");
    await next();
  });
