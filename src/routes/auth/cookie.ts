import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env.ts";
import { assertSameOrigin } from "../../middleware/csrf.ts";
import type { AuthResult } from "../../services/identity/credentials.ts";

export const REFRESH_COOKIE = "petrel_rt";
const COOKIE_PATH = "/v1/auth";

export const wantsCookie = (c: Context<AppEnv>) => c.req.header("x-auth-mode") === "cookie";

/** Answer with tokens: in the body, or (cookie flow) the refresh token only in an HttpOnly cookie. */
export function authResponse<S extends 200 | 201>(
  c: Context<AppEnv>,
  result: AuthResult,
  status: S,
  cookieMode = wantsCookie(c),
) {
  c.header("Cache-Control", "no-store");
  if (cookieMode) {
    setCookie(c, REFRESH_COOKIE, result.refreshToken, {
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
      path: COOKIE_PATH,
      maxAge: c.var.config.REFRESH_TOKEN_TTL,
    });
    const { refreshToken: _omit, ...body } = result;
    return c.json(body, status);
  }
  return c.json(result, status);
}

/** The refresh token from the body, else from the cookie (which requires the CSRF check). */
export function refreshTokenFrom(c: Context<AppEnv>, bodyToken: string | undefined) {
  if (bodyToken) return { token: bodyToken, viaCookie: false };
  const cookie = getCookie(c, REFRESH_COOKIE);
  if (cookie) assertSameOrigin(c);
  return { token: cookie, viaCookie: Boolean(cookie) };
}

export function clearRefreshCookie(c: Context<AppEnv>) {
  deleteCookie(c, REFRESH_COOKIE, { path: COOKIE_PATH, secure: true, httpOnly: true, sameSite: "Lax" });
}

/** Cookie-mode requests (`X-Auth-Mode: cookie`) must come from an allowed origin (login CSRF). */
export const cookieModeCsrf = createMiddleware<AppEnv>(async function cookieModeCsrf(c, next) {
  if (wantsCookie(c)) assertSameOrigin(c);
  await next();
});
