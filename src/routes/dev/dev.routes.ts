import { asc } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { devOutbox } from "../../db/schema.ts";
import type { AppEnv } from "../../env.ts";
import { validate } from "../../http/validate.ts";
import { ApiError } from "../../lib/errors.ts";
import { bodyGuard } from "../../middleware/body-guard.ts";

/** Development and test helpers. Mounted only when ENVIRONMENT is development or test. */
export const devRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!c.var.config.isDev) throw new ApiError("not_found");
    await next();
  })
  // Proves the error path end to end: a 500 problem document without internals, one Sentry event.
  .get("/boom", () => {
    throw new Error("boom: internal detail that must never reach a client");
  })
  // Echoes a validated JSON body: exercises the JSON parsing and validation path.
  // The local mail outbox (development and test mailer), newest last.
  .get("/outbox", async (c) => {
    const rows = await c.var.services.database.db.select().from(devOutbox).orderBy(asc(devOutbox.id));
    return c.json(
      rows.map(({ to, subject, text, html, token, createdAt }) => ({
        to,
        subject,
        text,
        html,
        token,
        createdAt,
      })),
    );
  })
  .post(
    "/echo",
    bodyGuard(),
    validate("json", z.object({ message: z.string().min(1).max(200) }).strict()),
    (c) => c.json(c.req.valid("json")),
  );
