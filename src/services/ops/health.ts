import { sql } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { errorFields } from "../../lib/log.ts";

export interface Check {
  ok: boolean;
  latencyMs: number;
  mode?: string;
}
/** A check and, when it failed, why: the reason is for the log only, never for the answer. */
type Timed = Check & { error?: string };

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<Timed> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - start) };
  } catch (err) {
    const f = errorFields(err);
    const message = String(f.cause ?? f.errorMessage ?? f.error);
    return { ok: false, latencyMs: Math.round(performance.now() - start), error: message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The readiness report (safe to show anyone: up or down and how fast) and, apart, the failure
 * reasons, which carry hosts, ports and driver messages and so belong in the log only.
 */
export async function checkReadiness(ctx: ServiceContext, timeoutMs: number) {
  const timings = await Promise.all([
    timed(() => ctx.db.run(sql`select 1`), timeoutMs),
    timed(() => ctx.kv.ping(), timeoutMs),
    timed(() => ctx.storage.head("__ready__"), timeoutMs),
    timed(() => ctx.realtime.ping(), timeoutMs),
  ]);
  const failures: Record<string, string> = {};
  const [database, cache, storage, realtime] = timings.map(({ error, ...check }, i) => {
    if (error !== undefined) failures[DEPENDENCIES[i]!] = error;
    return check as Check;
  }) as [Check, Check, Check, Check];
  cache.mode = ctx.kv.kind;
  const status = !database.ok ? "down" : cache.ok && storage.ok && realtime.ok ? "ok" : "degraded";
  return { report: { status, checks: { database, cache, storage, realtime } } as const, failures };
}

const DEPENDENCIES = ["database", "cache", "storage", "realtime"] as const;
