/**
 * Build the production bundle (`wrangler deploy --dry-run`) and run it in workerd through
 * miniflare's programmatic API, serving the bench traffic on a *direct socket*: workerd's own
 * listener bound straight to the Worker, so no Node proxy and no miniflare entry worker sit in
 * the request path. Measured on 2 cores, 10 connections, 10 s: direct socket and raw
 * `workerd serve` with a hand-written capnp config are equal within noise (bare route ~7.4–7.8k
 * req/s, /health ~3.1–3.7k both ways); miniflare's entry socket ~0.9k and `wrangler dev` ~0.5k on
 * /health. Miniflare is used rather than a capnp config because it gives a real local R2 bucket.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { buildAssets } from "../../scripts/build-assets.ts";
import { startProcess } from "../../scripts/lib/procs.ts";
import { BIN, OFFLINE_ENV, ROOT } from "../../scripts/lib/stack.ts";
import { runtimeLogLimiter } from "./runtime-logs.ts";

export interface BuiltBundle {
  dir: string;
  entry: string;
  assetsDir: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

export interface RunningWorker {
  url: string;
  stop(): Promise<void>;
  /** What the workerd log limiter held back (empty if nothing). */
  logSummary(): string;
}

/** `wrangler deploy --dry-run --outdir`: the exact code `wrangler deploy` would upload. */
export async function buildBundle(outDir: string): Promise<BuiltBundle> {
  const assetsDir = buildAssets(); // wrangler reads [assets].directory even on a dry run
  const proc = startProcess(
    "wrangler",
    join(BIN, "wrangler"),
    // --env "": the top-level environment, without wrangler's "multiple environments" warning.
    ["deploy", "--dry-run", "--outdir", outDir, "--env", ""],
    // Wrangler's debug logs go next to the bundle (not ~/.config), colourless for error messages.
    {
      env: { ...OFFLINE_ENV, WRANGLER_LOG_PATH: join(outDir, "..", "wrangler-logs"), FORCE_COLOR: "0" },
      cwd: ROOT,
    },
  );
  const code = await new Promise<number | null>((resolve) => proc.child.once("close", resolve));
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${proc.output()}`);
  return { dir: outDir, entry: join(outDir, "index.js"), assetsDir, ...readCompat() };
}

/** compatibility_date / compatibility_flags from the top level of wrangler.toml (before any [table]). */
function readCompat(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const top = toml.split(/^\s*\[/m)[0] ?? "";
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(top)?.[1];
  if (!date) throw new Error("wrangler.toml: no top-level compatibility_date");
  const flags = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(top)?.[1] ?? "";
  return {
    compatibilityDate: date,
    compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? ""),
  };
}

export async function startWorker(opts: {
  bundle: BuiltBundle;
  port: number;
  vars: Record<string, string>;
  stateDir: string;
}): Promise<RunningWorker> {
  const { bundle } = opts;
  const logs = runtimeLogLimiter();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0, // miniflare's entry socket: unused by the benchmark, loopback only
      cf: false, // never fetch the cf object from the network
      handleStructuredLogs: logs.handle, // each distinct line at most 3 times
      resourcePersistencePath: opts.stateDir,
      name: "petrel-api",
      modules: true,
      scriptPath: bundle.entry,
      modulesRoot: bundle.dir,
      compatibilityDate: bundle.compatibilityDate,
      compatibilityFlags: bundle.compatibilityFlags,
      bindings: opts.vars,
      r2Buckets: { FILES: "petrel-files" },
      // The webhook queue, as wrangler.toml declares it (producer and consumers in this Worker).
      queueProducers: { WEBHOOKS: { queueName: "petrel-webhooks" } },
      queueConsumers: {
        "petrel-webhooks": {
          maxBatchSize: 10,
          maxBatchTimeout: 1,
          maxRetries: 10,
          retryDelay: 30,
          deadLetterQueue: "petrel-webhooks-dlq",
        },
        "petrel-webhooks-dlq": { maxBatchSize: 10, maxBatchTimeout: 1 },
      },
      // Static files as a disk-backed service (production serves them before the Worker runs).
      serviceBindings: { ASSETS: { disk: { path: bundle.assetsDir, writable: false } } },
      // Outbound traffic stays on loopback because every URL in `vars` is a 127.0.0.1 one and no
      // SENTRY_DSN is set (miniflare 5 cannot convert a v4 `network` outboundService filter).
      unsafeDirectSockets: [{ host: "127.0.0.1", port: opts.port }],
    }),
  );
  await mf.ready;
  return { url: `http://127.0.0.1:${opts.port}`, stop: () => mf.dispose(), logSummary: logs.summary };
}

/** Versions of the runtime actually used: the workerd binary miniflare resolves, and miniflare. */
export function runtimeVersions(): { workerd: string; miniflare: string } {
  const entry = import.meta.resolve("miniflare"); // …/miniflare/dist/src/index.js
  const bin = (createRequire(entry)("workerd") as { default: string }).default;
  const workerd = execFileSync(bin, ["--version"], { encoding: "utf8" })
    .trim()
    .replace(/^workerd\s+/, "");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", entry), "utf8")) as { version: string };
  return { workerd, miniflare: pkg.version };
}
