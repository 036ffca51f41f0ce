/** Run one scenario with autocannon: setup → probe → warm-up (discarded) → measured run → teardown. */
import autocannon, { type AutocannonRequest, type AutocannonResult } from "autocannon";
import { type BenchContext, type Prepared, resolveRequest, type Scenario } from "./scenarios.ts";

export interface LoadOptions {
  connections: number;
  /** Seconds measured per scenario. */
  duration: number;
  /** Seconds of warm-up per scenario, not counted. */
  warmup: number;
}

export interface Row {
  name: string;
  method: string;
  path: string;
  status: "ok" | "missing" | "failed";
  note?: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  non2xx?: number;
  errors?: number;
  total?: number;
  statusCodes?: Record<string, number>;
  /** Database round trips of one request (the probe's X-Petrel-Cost, counted in the adapter). */
  dbTrips?: number;
  /** rps / baseline rps, filled in by the report. */
  ratio?: number;
}

function fire(url: string, req: AutocannonRequest, opts: { connections: number; duration: number }) {
  return autocannon({
    url,
    connections: opts.connections,
    duration: opts.duration,
    pipelining: 1,
    timeout: 10,
    // A `requests` entry rather than top-level fields, so a setupRequest hook can take part.
    requests: [req],
  });
}

export async function runScenario(ctx: BenchContext, s: Scenario, opts: LoadOptions): Promise<Row> {
  const base = { name: s.name, method: s.method, path: s.path };
  let prepared: Prepared | undefined;
  if (s.run) {
    try {
      return { ...base, status: "ok", ...(await s.run(ctx, opts)) };
    } catch (err) {
      return { ...base, status: "failed", note: err instanceof Error ? err.message : String(err) };
    }
  }
  try {
    prepared = await s.setup?.(ctx);
    const req = resolveRequest(s, prepared);
    const row = { ...base, path: req.path };

    const probe = await ctx.request(req.path, {
      method: req.method,
      headers: req.headers,
      body: typeof req.body === "string" ? req.body : undefined,
    });
    await probe.body?.cancel();
    const dbTrips = Number(/db=(\d+)/.exec(probe.headers.get("x-petrel-cost") ?? "")?.[1] ?? Number.NaN);
    if (probe.status === 404 && s.optional) {
      return { ...row, status: "missing", note: `${req.path} answered 404: not implemented yet` };
    }
    const note = probe.ok ? undefined : `probe answered ${probe.status}`;

    if (opts.warmup > 0)
      await fire(ctx.baseUrl, req, { connections: opts.connections, duration: opts.warmup });
    const r: AutocannonResult = await fire(ctx.baseUrl, req, opts);
    return { ...row, status: "ok", note, ...(Number.isNaN(dbTrips) ? {} : { dbTrips }), ...summarize(r) };
  } catch (err) {
    return { ...base, status: "failed", note: err instanceof Error ? err.message : String(err) };
  } finally {
    await prepared?.teardown?.().catch(() => {});
  }
}

function summarize(r: AutocannonResult): Partial<Row> {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  return {
    // Mean of the per-second samples, as autocannon reports it.
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors, // connection errors, timeouts included
    total: r.requests.total,
    statusCodes,
  };
}
