import { errorFields } from "../lib/log.ts";
import type { Services } from "./container.ts";

export interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
  mode?: string;
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
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

export async function checkReadiness(services: Services, timeoutMs: number) {
  const [database, cache, storage, realtime] = await Promise.all([
    timed(() => services.database.client.execute("select 1"), timeoutMs),
    timed(() => services.kv.ping(), timeoutMs),
    timed(() => services.storage.head("__ready__"), timeoutMs),
    timed(() => services.realtime.ping(), timeoutMs),
  ]);
  cache.mode = services.kv.kind;
  const status = !database.ok ? "down" : cache.ok && storage.ok && realtime.ok ? "ok" : "degraded";
  return { status, checks: { database, cache, storage, realtime } } as const;
}
