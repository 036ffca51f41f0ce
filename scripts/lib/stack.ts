import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { hasCommand, httpOk, type Proc, startProcess, waitFor } from "./procs.ts";
import { toEnvFile } from "./secrets.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "node_modules", ".bin");

/** No telemetry, update checks, banners or cf fetches: nothing leaves loopback. */
export const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  NO_UPDATE_NOTIFIER: "1",
  DO_NOT_TRACK: "1",
  // npm scripts put node_modules/.bin first, so children run on the Node 22 from npm.
  PATH: `${BIN}:${process.env.PATH ?? ""}`,
};

export interface Service {
  url: string;
  proc: Proc;
  stop(): Promise<void>;
}

/**
 * Local sqld (dev, tests, bench) runs with one connection at a time. sqld 0.24.32's write queue
 * (`ManagedConnectionWalWrapper::acquire`) can deadlock once a write transaction is held past
 * its 5 s lock-stealing timeout (an overloaded machine, a slow client): the waiters block on the
 * holder's connection while it waits for them, spinning in `sched_yield` at ~200 % CPU, and no
 * write gets through until sqld restarts. With a single connection nobody ever waits in that
 * queue: requests wait in sqld's connection pool instead, an async FIFO that a cancelled
 * request simply leaves. SQLite has one writer anyway; reads queue too, which costs little at
 * local scale. Side effects, both handled by the app's client (src/db/client.ts):
 * - sqld answers 429 to a request that would be the 129th waiting one (a hard-coded limit);
 * - a stream left open (an interactive transaction, a raw `/v2/pipeline` call without `close`)
 *   holds the connection until sqld expires it, after 10 s.
 * The pool's wait is raised from its default (about 1 s, then 429) so that the caller's own
 * timeout (DB_TIMEOUT_MS) decides. Turso in production is not this code path.
 */
export const SQLD_FLAGS = [
  "--no-welcome",
  "--disable-metrics",
  "--max-concurrent-connections",
  "1",
  "--connection-creation-timeout-sec",
  "60",
];

export async function startSqld(opts: { dataDir: string; port: number; echo?: boolean }): Promise<Service> {
  mkdirSync(opts.dataDir, { recursive: true });
  const proc = startProcess(
    "sqld",
    join(BIN, "sqld"),
    [
      "--db-path",
      join(opts.dataDir, "petrel.sqld"),
      "--http-listen-addr",
      `127.0.0.1:${opts.port}`,
      ...SQLD_FLAGS,
    ],
    { env: { ...OFFLINE_ENV, RUST_LOG: "warn" }, echo: opts.echo },
  );
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor("sqld", () => httpOk(`${url}/health`), { proc, timeoutMs: 20_000 });
  return { url, proc, stop: proc.stop };
}

export async function startRedis(opts: {
  port: number;
  dataDir?: string;
  echo?: boolean;
  command?: string;
}): Promise<Service> {
  const args = ["--port", String(opts.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
    args.push("--dir", opts.dataDir, "--save", "60 1", "--dbfilename", "dump.rdb");
  }
  const proc = startProcess("redis", opts.command ?? "redis-server", args, { echo: opts.echo });
  const url = `redis://127.0.0.1:${opts.port}`;
  await waitFor("redis-server", () => tcpOpen(opts.port), { proc, timeoutMs: 10_000 });
  return { url, proc, stop: proc.stop };
}

type Env = Record<string, string | undefined>;
interface TestRedisOptions {
  port: number;
  warn: (msg: string) => void;
  required?: boolean;
  echo?: boolean;
  env?: Env;
}

export const testRedisCommand = (env: Env = process.env) => env.PETREL_TEST_REDIS_SERVER || "redis-server";

/**
 * redis-server for a test stack (`npm test`, `npm run test:e2e`), never a quiet fallback. Without
 * it the Worker uses its per-isolate memory store, so a run would pass without testing the cache
 * and the rate limits as production runs them. When it cannot be found or started, this throws if
 * `required` (the vitest suite tests Redis itself) or if `CI` is set (`.ci/run` sets CI=true);
 * otherwise it says so loudly through `warn` and returns undefined: the stack runs degraded.
 * `PETREL_TEST_REDIS_SERVER` names another binary (default: redis-server on PATH).
 */
export async function startTestRedis(opts: TestRedisOptions & { required: true }): Promise<Service>;
export async function startTestRedis(opts: TestRedisOptions): Promise<Service | undefined>;
export async function startTestRedis(opts: TestRedisOptions): Promise<Service | undefined> {
  const env = opts.env ?? process.env;
  const command = testRedisCommand(env);
  let problem: string;
  if (!hasCommand(command)) problem = `${command} was not found`;
  else {
    try {
      return await startRedis({ port: opts.port, echo: opts.echo, command });
    } catch (err) {
      problem = `${command} did not start: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  const fix =
    "Install it (sudo apt-get install redis-server, or brew install redis) or set PETREL_TEST_REDIS_SERVER to its path.";
  const ci = Boolean(env.CI) && env.CI !== "false" && env.CI !== "0";
  if (opts.required) throw new Error(`${problem}. The test suite needs a real Redis. ${fix}`);
  if (ci)
    throw new Error(
      `${problem}. CI (CI=${env.CI}) must test against a real Redis, not the memory store. ${fix}`,
    );
  opts.warn(`WARNING: ${problem}. Running DEGRADED: cache and rate limits use the per-isolate memory store.`);
  opts.warn(`WARNING: ${fix} (With CI set this is an error.)`);
  return undefined;
}

export async function startPartykit(opts: {
  port: number;
  vars: Record<string, string>;
  persistDir: string;
  echo?: boolean;
}): Promise<Service> {
  const args = ["dev", "--port", String(opts.port), "--disable-request-cf-fetch", "--no-hotkeys"];
  args.push("--persist", opts.persistDir);
  for (const [k, v] of Object.entries(opts.vars)) args.push("--var", `${k}=${v}`);
  const proc = startProcess("party", join(BIN, "partykit"), args, {
    env: OFFLINE_ENV,
    cwd: ROOT,
    echo: opts.echo,
  });
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor("partykit dev", () => httpOk(`${url}/parties/chat/__health`), { proc, timeoutMs: 60_000 });
  return { url, proc, stop: proc.stop };
}

/**
 * `wrangler dev` with R2 emulated locally; string bindings and secrets come from an env file.
 * Two started at once must each get their own `inspectorPort`: both would pick the same one.
 */
export async function startWranglerDev(opts: {
  port: number;
  vars: Record<string, string | undefined>;
  stateDir: string;
  envFile: string;
  inspectorPort?: number;
  echo?: boolean;
}): Promise<Service> {
  writeFileSync(opts.envFile, toEnvFile(opts.vars), { mode: 0o600 });
  const args = [
    "dev",
    "--port",
    String(opts.port),
    "--ip",
    "127.0.0.1",
    "--local",
    "--persist-to",
    opts.stateDir,
    "--env-file",
    opts.envFile,
    "--show-interactive-dev-session=false",
    "--log-level",
    "log",
    ...(opts.inspectorPort ? ["--inspector-port", String(opts.inspectorPort)] : []),
  ];
  const proc = startProcess("api", join(BIN, "wrangler"), args, {
    env: OFFLINE_ENV,
    cwd: ROOT,
    echo: opts.echo,
  });
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor("wrangler dev", () => httpOk(`${url}/health`), { proc, timeoutMs: 90_000 });
  return { url, proc, stop: proc.stop };
}

async function tcpOpen(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolveOpen) => {
    const sock = connect({ host: "127.0.0.1", port }, () => {
      sock.destroy();
      resolveOpen(true);
    });
    sock.on("error", () => resolveOpen(false));
  });
}
