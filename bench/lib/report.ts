/** Machine line, result table and JSON files (bench/results/<timestamp>.json and latest.json). */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/stack.ts";
import type { FilesReport } from "./files-report.ts";
import type { LoadOptions, Row } from "./load.ts";
import type { RealtimeReport } from "./realtime-report.ts";
import { BASELINES } from "./scenarios.ts";

export interface Machine {
  cores: number;
  cpuModel: string;
  totalMemoryGiB: number;
  node: string;
  workerd: string;
  miniflare: string;
  platform: string;
  gitCommit: string | null;
}

export interface Report {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  options: LoadOptions;
  runtime: string;
  baseline: string | null;
  rows: Row[];
  /** The realtime scenario (Petrel rooms next to a plain `ws` broadcast server), when it ran. */
  realtime?: RealtimeReport;
  /** The files scenario (10 MiB through the files API next to the bare R2 binding), when it ran. */
  files?: FilesReport;
}

export function machineInfo(versions: { workerd: string; miniflare: string }): Machine {
  const cpus = os.cpus();
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ...versions,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    gitCommit: git.status === 0 ? git.stdout.trim() : null,
  };
}

export function formatMachine(m: Machine): string {
  return (
    `machine: ${m.cores} cores × ${m.cpuModel} | ${m.totalMemoryGiB} GiB RAM | Node ${m.node} | ` +
    `workerd ${m.workerd} (miniflare ${m.miniflare}) | git ${m.gitCommit ?? "(no commit)"}`
  );
}

/** Fill in `ratio` (rps / baseline rps); returns the baseline's name. */
export function applyBaseline(rows: Row[]): string | null {
  const base = BASELINES.map((n) => rows.find((r) => r.name === n && r.status === "ok" && r.rps)).find(
    Boolean,
  );
  if (!base?.rps) return null;
  for (const r of rows) if (r.rps !== undefined) r.ratio = Math.round((r.rps / base.rps) * 100) / 100;
  return base.name;
}

export function formatTable(rows: Row[], baseline: string | null): string {
  const header = [
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "errors",
    "db rt",
    "redis rt",
    "cpu ms/req",
    `vs ${baseline ?? "baseline"}`,
  ];
  const num = (x: number | undefined, digits: number) =>
    x === undefined ? "-" : Number.isInteger(x) ? String(x) : x.toFixed(digits);
  const body = rows.map((r) =>
    r.status === "ok"
      ? [
          r.name,
          String(r.rps),
          String(r.p50Ms),
          String(r.p99Ms),
          String(r.non2xx),
          String(r.errors),
          num(r.dbTrips, 2),
          num(r.redisTrips, 2),
          r.cpuMsPerReq === undefined ? "-" : r.cpuMsPerReq.toFixed(3),
          r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}×`,
        ]
      : [r.name, r.status, ...header.slice(2).map(() => "-")],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  out.push(
    "",
    "db rt / redis rt: round trips per request (mean of X-Petrel-Cost over the run, counted in the adapters);",
    "cpu ms/req: user + system CPU of the serving process (workerd, or the baseline's own server) per request.",
  );
  if (notes.length > 0) out.push("", "notes:", ...notes);
  return out.join("\n");
}

/** Writes bench/results/<ISO timestamp>.json (colons replaced: valid file name everywhere) and latest.json. */
export function saveReport(report: Report): string {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const file = join(dir, `${report.startedAt.replaceAll(":", "-")}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, "latest.json"), text);
  return file;
}
