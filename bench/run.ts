/**
 * `npm run bench`: throughput and latency of the production bundle in workerd, against real local
 * services (sqld + migrations, redis-server behind the Upstash REST bridge, a local R2 bucket).
 * Not part of the tests.
 *
 *   node bench/run.ts [--duration 10] [--connections 10] [--warmup 2] [--only bare,health,realtime]
 *                     [--clients 100] [--senders 5] [--rates 50,100] [--file-rounds 5]
 *
 * Prints the machine line, one table (req/s, p50/p99 latency, non-2xx, errors, ratio to the
 * baseline) and writes bench/results/<timestamp>.json and bench/results/latest.json.
 * The `realtime` scenario (bench/lib/realtime*.ts) also starts `partykit dev` and a plain `ws`
 * broadcast server, and prints a second table (deliveries/s, loss, latency, ratio to ws).
 * The `files` scenario (bench/lib/files-scenario.ts) prints upload/download MiB/s of a 10 MiB file
 * through the files API next to a bare R2-binding put/get in the same Worker.
 * Everything binds 127.0.0.1; every process started here is stopped on exit, Ctrl-C or failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, installExitHooks, killAllChildren } from "../scripts/lib/procs.ts";
import { generateLocalSecrets } from "../scripts/lib/secrets.ts";
import type { Service } from "../scripts/lib/stack.ts";
import { descendantNamed } from "./lib/cpu.ts";
import { formatFilesTable } from "./lib/files-report.ts";
import { FILES_SCENARIO, type FilesOptions, runFilesScenario } from "./lib/files-scenario.ts";
import { type LoadOptions, type Row, runScenario } from "./lib/load.ts";
import type { RealtimeOptions } from "./lib/realtime.ts";
import { startBenchParty } from "./lib/realtime-petrel.ts";
import { fileLimitNote } from "./lib/realtime-probes.ts";
import { formatRealtimeTable, type RealtimeReport } from "./lib/realtime-report.ts";
import {
  DEFAULT_PLANS,
  PLAN_5K,
  REALTIME_5K_SCENARIO,
  REALTIME_SCENARIO,
  type RealtimePlan,
  realtimeFailed,
  runRealtimeScenario,
} from "./lib/realtime-scenario.ts";
import { formatRealtimeTargets } from "./lib/realtime-targets.ts";
import { applyBaseline, formatMachine, formatTable, machineInfo, saveReport } from "./lib/report.ts";
import type { BenchContext, Scenario } from "./lib/scenarios.ts";
import { scenarios, selectScenarios } from "./lib/scenarios.ts";
import { type BenchServices, startServices } from "./lib/services.ts";
import { checkTargets, formatTargets } from "./lib/targets.ts";
import { buildBundle, type RunningWorker, runtimeVersions, startWorker } from "./lib/worker.ts";

const log = (msg: string) => console.error(`[bench] ${msg}`);

function parseOptions(): {
  load: LoadOptions;
  realtime: Omit<RealtimeOptions, "clients" | "rates"> & { plans: RealtimePlan[] };
  files: FilesOptions;
  only: string | undefined;
} {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      connections: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      only: { type: "string" },
      clients: { type: "string" },
      senders: { type: "string", default: "5" },
      rates: { type: "string" },
      "file-rounds": { type: "string", default: "5" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: node bench/run.ts [--duration s] [--connections n] [--warmup s] [--only a,b]\n" +
        "                         [--clients n] [--senders n] [--rates msgs/s,msgs/s]  (realtime)\n" +
        "                         [--file-rounds n]  (files)\n" +
        `scenarios: ${[...scenarios.map((s) => s.name), REALTIME_SCENARIO, REALTIME_5K_SCENARIO, FILES_SCENARIO].join(", ")}`,
    );
    process.exit(0);
  }
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const load = {
    duration: num("duration", values.duration, 1),
    connections: Math.round(num("connections", values.connections, 1)),
    warmup: num("warmup", values.warmup, 0),
  };
  // --clients/--rates replace the #13 plans (realtime-scenario.ts) with one plan of your own.
  const custom =
    values.clients !== undefined || values.rates !== undefined
      ? {
          clients: Math.round(num("clients", values.clients ?? "100", 1)),
          // Ascending: a rate that breaks the stack ends the series (later rates are skipped).
          rates: (values.rates ?? "50,100")
            .split(",")
            .map((r) => num("rates", r.trim(), 0.1))
            .sort((a, b) => a - b),
        }
      : undefined;
  return {
    load,
    realtime: {
      plans: custom ? [custom] : DEFAULT_PLANS,
      senders: Math.round(num("senders", values.senders, 1)),
      duration: load.duration,
      warmup: load.warmup,
    },
    files: { rounds: Math.round(num("file-rounds", values["file-rounds"], 1)), warmup: load.warmup > 0 },
    only: values.only,
  };
}

/** `--only`: HTTP scenarios by name, plus `realtime`, `realtime-5k` and `files`; no `--only` runs everything. */
function select(only: string | undefined): {
  http: Scenario[];
  realtime: boolean;
  realtime5k: boolean;
  files: boolean;
} {
  const names = only
    ?.split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  if (!names?.length)
    return { http: selectScenarios(undefined), realtime: true, realtime5k: true, files: true };
  const own = [REALTIME_SCENARIO, REALTIME_5K_SCENARIO, FILES_SCENARIO];
  const http = names.filter((n) => !own.includes(n));
  return {
    http: http.length > 0 ? selectScenarios(http.join(",")) : [],
    realtime: names.includes(REALTIME_SCENARIO),
    realtime5k: names.includes(REALTIME_5K_SCENARIO),
    files: names.includes(FILES_SCENARIO),
  };
}

async function main(): Promise<number> {
  const { load, realtime: realtimeOpts, files: filesOpts, only } = parseOptions();
  const { http: selected, realtime: realtimeOn, realtime5k, files: runFiles } = select(only);
  const runRealtime = realtimeOn || realtime5k;
  installExitHooks();
  const tmp = mkdtempSync(join(os.tmpdir(), "petrel-bench-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

  const versions = runtimeVersions();
  const machine = machineInfo(versions);
  console.log(formatMachine(machine));
  const startedAt = new Date().toISOString();

  let services: BenchServices | undefined;
  let worker: RunningWorker | undefined;
  let party: Service | undefined;
  try {
    log("building the production bundle (wrangler deploy --dry-run)…");
    const bundle = await buildBundle(join(tmp, "bundle"));

    log("starting sqld, redis-server and the Upstash bridge…");
    services = await startServices(join(tmp, "state"));

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    // The Worker learns PartyKit's URL before it starts: pick the party's port first.
    const partyPort = runRealtime ? await freePort() : undefined;
    const vars: Record<string, string> = {
      ENVIRONMENT: "production",
      LOG_LEVEL: "error", // per-request access logs would dominate the profile
      LIBSQL_URL: services.libsqlUrl,
      UPSTASH_REDIS_REST_URL: services.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: services.upstashToken,
      // Without the realtime scenario nothing listens there (GET /ready reports realtime down).
      PARTYKIT_URL: partyPort ? `http://127.0.0.1:${partyPort}` : "http://127.0.0.1:9",
      PUBLIC_API_URL: baseUrl,
      APP_URL: `${baseUrl}/app`,
      CORS_ORIGINS: baseUrl,
      JWT_ISSUER: baseUrl,
      JWT_AUDIENCE: "petrel",
      BENCH_ROUTES: "on", // exposes GET /bench/bare, the baseline
      COST_HEADERS: "on", // X-Petrel-Cost: database and Redis round trips of every response
      // Measure work, not refusals: the load client is one IP hammering auth routes.
      AUTH_RATE_LIMIT: "100000000",
      API_RATE_LIMIT: "100000000",
      READY_RATE_LIMIT: "100000000",
      // The files scenario declares a 10 MiB file per round.
      FILES_MAX_BYTES: String(64 * 1024 * 1024),
      FILES_QUOTA_BYTES: String(2 ** 40),
      FILES_RATE_LIMIT: "100000000",
      ...(await generateLocalSecrets()),
    };
    log(`starting the Worker in workerd (miniflare ${versions.miniflare}, direct socket)…`);
    const partyStarting = partyPort
      ? startBenchParty({ port: partyPort, apiUrl: baseUrl, vars, stateDir: join(tmp, "state") })
      : undefined;
    partyStarting?.catch(() => {}); // awaited below; a rejection must not go unhandled meanwhile
    worker = await startWorker({ bundle, port, vars, stateDir: join(tmp, "state", "miniflare") });
    if (partyStarting) {
      log("starting partykit dev (realtime scenario)…");
      party = await partyStarting;
    }

    // Set-up calls (registering a scenario's user, creating its room) honour a 503's Retry-After,
    // as a client should: the login scenario saturates the CPU with password hashing on purpose,
    // and the auth limiter then fails closed for a moment (Redis breaker), right when the next
    // scenario registers its user. The measured load (autocannon) never goes through this.
    const request = async (path: string, init?: RequestInit) => {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
        const wait = Number(res.headers.get("retry-after"));
        if (res.status !== 503 || attempt === 3 || !(wait > 0)) return res;
        log(`set-up ${init?.method ?? "GET"} ${path}: 503, retrying after ${wait} s`);
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    };
    await reportReadiness(request, Boolean(party));
    const workerPid = descendantNamed("workerd");
    if (workerPid === undefined) log("workerd's process not found: no CPU column");
    const ctx: BenchContext = { baseUrl, services, vars, request, workerPid };

    const rows: Row[] = [];
    for (const s of selected) {
      log(
        `${s.name}: ${s.method} ${s.path} — ${load.warmup} s warm-up + ${load.duration} s, ${load.connections} connections`,
      );
      rows.push(await runScenario(ctx, s, load));
    }

    const files = runFiles ? await runFilesScenario(ctx, filesOpts, log) : undefined;

    let realtime: RealtimeReport | undefined;
    if (runRealtime) {
      const { plans, ...base } = realtimeOpts;
      const all = [...(realtimeOn ? plans : []), ...(realtime5k ? [PLAN_5K] : [])];
      if (realtime5k) log(fileLimitNote(PLAN_5K.clients));
      realtime = await runRealtimeScenario(ctx, base, all, log, { pid: party?.proc.child.pid });
    }

    const baseline = applyBaseline(rows);
    if (rows.length > 0) console.log(`\n${formatTable(rows, baseline)}\n`);
    if (rows.length > 0) console.log(`${formatTargets(checkTargets(rows))}\n`);
    if (realtime) console.log(`\n${formatRealtimeTable(realtime)}\n\n${formatRealtimeTargets(realtime)}\n`);
    if (files) console.log(`\n${formatFilesTable(files)}\n`);
    const held = worker.logSummary();
    if (held) console.error(`${held}\n`);
    const file = saveReport({
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      options: load,
      runtime: `workerd ${versions.workerd} via miniflare ${versions.miniflare} (direct socket), production bundle`,
      baseline,
      rows,
      realtime,
      files,
    });
    log(`results written to ${file} and bench/results/latest.json`);
    const failed =
      rows.some((r) => r.status === "failed") ||
      (realtime ? realtimeFailed(realtime) : false) ||
      files?.status === "failed";
    return failed ? 1 : 0;
  } finally {
    await party?.stop().catch(() => {});
    await worker?.stop().catch(() => {});
    await services?.stop().catch(() => {});
  }
}

/** One GET /ready: shows at a glance that the Worker reaches the database, Redis and R2. */
async function reportReadiness(request: (path: string) => Promise<Response>, partyStarted: boolean) {
  const res = await request("/ready");
  const body = (await res.json().catch(() => null)) as {
    status?: string;
    checks?: Record<string, { ok: boolean; error?: string }>;
  } | null;
  const checks = Object.entries(body?.checks ?? {})
    .map(([name, c]) => `${name} ${c.ok ? "ok" : `down (${c.error ?? "?"})`}`)
    .join(", ");
  log(`GET /ready → ${res.status} ${body?.status ?? ""}: ${checks || "(no checks)"}`);
  if (body?.checks?.realtime && !body.checks.realtime.ok && !partyStarted)
    log("  (realtime down is expected: PartyKit is only started for the realtime scenario)");
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? err.message : String(err)}`);
    killAllChildren();
    process.exit(1);
  },
);
