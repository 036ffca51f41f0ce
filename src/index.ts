import { Hono } from "hono";
import { createApp } from "./app.ts";
import type { Bindings } from "./env.ts";
import { scheduledFileCleanup } from "./services/files-access.ts";

const app = createApp();

// The benchmark's baseline: a bare Hono route in the same Worker, with none of the app's
// middleware. Answers only when BENCH_ROUTES=on (set by `npm run bench`, never deployed).
const bare = new Hono().get("/bench/bare", (c) => c.text("ok"));

export default {
  fetch(request, env, ctx) {
    if ((env as { BENCH_ROUTES?: string }).BENCH_ROUTES === "on" && request.url.endsWith("/bench/bare")) {
      return bare.fetch(request, env, ctx);
    }
    return app.fetch(request, env, ctx);
  },
  async scheduled(_controller, env, ctx) {
    // Periodic maintenance (expired pending uploads, sessions) is added by the features that need it.
    ctx.waitUntil(scheduledFileCleanup(env));
  },
} satisfies ExportedHandler<Bindings>;

export type { App } from "./app.ts";
