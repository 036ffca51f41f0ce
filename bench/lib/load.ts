/** Run one scenario with autocannon: setup → probe → warm-up (discarded) → measured run → teardown. */
import autocannon, { type AutocannonRequest, type AutocannonResult } from "autocannon";
import { treeCpuMs } from "./cpu.ts";
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
  /**
   * Round trips per request to the database and to Redis: the mean over the measured run of
   * each response's X-Petrel-Cost (counted in the adapters, COST_HEADERS=on).
   */
  dbTrips?: number;
  redisTrips?: number;
  /** CPU of the serving process tree (user + system, from /proc) over the measured run, per request. */
  cpuMsPerReq?: number;
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
    if (probe.status === 404 && s.optional) {
      return { ...row, status: "missing", note: `${req.path} answered 404: not implemented yet` };
    }
    const note = probe.ok ? undefined : `probe answered ${probe.status}`;

    if (opts.warmup > 0)
      await fire(ctx.baseUrl, req, { connections: opts.connections, duration: opts.warmup });
    const costs = costCounter(req);
    const pid = prepared?.servedBy ?? ctx.workerPid;
    const cpuBefore = pid === undefined ? undefined : treeCpuMs(pid);
    const r: AutocannonResult = await fire(ctx.baseUrl, costs.request, opts);
    const cpuAfter = pid === undefined ? undefined : treeCpuMs(pid);
    const cpu =
      cpuBefore !== undefined && cpuAfter !== undefined && r.requests.total > 0
        ? { cpuMsPerReq: round((cpuAfter - cpuBefore) / r.requests.total, 3) }
        : {};
    return { ...row, status: "ok", note, ...costs.means(), ...cpu, ...summarize(r) };
  } catch (err) {
    return { ...base, status: "failed", note: err instanceof Error ? err.message : String(err) };
  } finally {
    await prepared?.teardown?.().catch(() => {});
  }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Sums each response's `X-Petrel-Cost: db=<n>, redis=<n>` during the measured run (the
 * scenario's own onResponse still runs). Responses without the header (a baseline that is not
 * Petrel) leave the means undefined.
 */
function costCounter(req: AutocannonRequest) {
  let responses = 0;
  let db = 0;
  let redis = 0;
  const own = req.onResponse;
  const request: AutocannonRequest = {
    ...req,
    onResponse: (status, body, context, headers) => {
      own?.(status, body, context, headers);
      // autocannon keeps the header names as sent: look the name up without case.
      const name = Object.keys(headers ?? {}).find((h) => h.toLowerCase() === "x-petrel-cost");
      const header = name ? headers[name] : undefined;
      const m = typeof header === "string" ? /db=(\d+), redis=(\d+)/.exec(header) : null;
      if (!m) return;
      responses++;
      db += Number(m[1]);
      redis += Number(m[2]);
    },
  };
  return {
    request,
    means: (): Partial<Row> =>
      responses === 0 ? {} : { dbTrips: round(db / responses, 2), redisTrips: round(redis / responses, 2) },
  };
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
