import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { timingSafeEqual } from "../lib/crypto.ts";
import { ApiError } from "../lib/errors.ts";
import { SERVICE_AUTH_HEADER } from "../shared/realtime.ts";

/** Internal routes: only the PartyKit parties, with the service credential (never a user token). */
export const requireService = () =>
  createMiddleware<AppEnv>(async function requireService(c, next) {
    const got = c.req.header(SERVICE_AUTH_HEADER);
    if (!got || !timingSafeEqual(got, c.var.config.SERVICE_TOKEN)) {
      throw new ApiError("unauthorized", "This route needs the service credential.");
    }
    await next();
  });
