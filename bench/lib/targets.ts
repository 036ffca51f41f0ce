/**
 * The HTTP hot path's performance targets, checked against one run's rows (all measured in
 * the same run, so ratios compare like with like). A target whose rows are missing is "n/a".
 */
import type { Row } from "./load.ts";

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

const ok = (rows: Row[], name: string) => rows.find((r) => r.name === name && r.status === "ok" && r.rps);
const _pct = (x: number) => `${Math.round(x * 100)}%`;

export function checkTargets(rows: Row[]): TargetCheck[] {
  const get = (name: string) => ok(rows, name);
  const checks: TargetCheck[] = [];
  const add = (target: string, names: string[], f: (r: Row[]) => [string, boolean]) => {
    const parts = names.map(get);
    if (parts.some((p) => !p)) checks.push({ target, measured: "not measured", met: null });
    else {
      const [measured, met] = f(parts as Row[]);
      checks.push({ target, measured, met });
    }
  };
  const ratio = (target: string, a: string, b: string, min: number) =>
    add(target, [a, b], ([x, y]) => {
      const r = x!.rps! / y!.rps!;
      return [`${r.toFixed(2)}× (${x!.rps} vs ${y!.rps})`, r >= min];
    });
  ratio("GET /health ≥ 0.75× bare", "health", "bare", 0.75);
  ratio("cached GET /v1/me ≥ 0.55× bare", "me-cached", "bare", 0.55);
  ratio("cached GET /v1/me ≥ 1.3× Express + jsonwebtoken + ioredis", "me-cached", "express-me", 1.3);
  add("cached GET /v1/me p99 < 2× bare p99", ["me-cached", "bare"], ([hit, bare]) => [
    `${hit!.p99Ms} ms vs ${bare!.p99Ms} ms`,
    hit!.p99Ms! < 2 * bare!.p99Ms!,
  ]);
  ratio("uncached GET /v1/me ≥ 0.7× db-read-one", "me-nocache", "db-read-one", 0.7);
  ratio("GET latest message page ≥ 0.7× db-read", "messages-latest", "db-read", 0.7);
  ratio("POST message ≥ 0.7× db-write", "messages-post", "db-write", 0.7);
  add("Redis stopped: 0 non-2xx on the cached route", ["me-redis-down"], ([down]) => [
    `${down!.non2xx} non-2xx, ${down!.errors} errors of ${down!.total}`,
    down!.non2xx === 0 && down!.errors === 0,
  ]);
  return checks;
}

export function formatTargets(checks: TargetCheck[]): string {
  const mark = (m: boolean | null) => (m === null ? "n/a" : m ? "met" : "NOT met");
  const w = Math.max(...checks.map((c) => c.target.length));
  const mw = Math.max(...checks.map((c) => c.measured.length));
  return [
    "targets (HTTP hot path):",
    ...checks.map((c) => `  ${c.target.padEnd(w)}  ${c.measured.padEnd(mw)}  ${mark(c.met)}`),
  ].join("\n");
}
