/**
 * The performance targets of the caching issue, checked against one run's rows (all measured in
 * the same run, so ratios compare like with like). A target whose rows are missing is "n/a".
 */
import type { Row } from "./load.ts";

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

const ok = (rows: Row[], name: string) => rows.find((r) => r.name === name && r.status === "ok" && r.rps);
const pct = (x: number) => `${Math.round(x * 100)}%`;

export function checkTargets(rows: Row[]): TargetCheck[] {
  const bare = ok(rows, "bare");
  const hit = ok(rows, "me-cached");
  const bypass = ok(rows, "me-nocache");
  const express = ok(rows, "express-me");
  const down = ok(rows, "me-redis-down");
  const post = ok(rows, "messages-post");
  const dbWrite = ok(rows, "db-write");
  const checks: TargetCheck[] = [];
  const add = (target: string, parts: Array<Row | undefined>, f: () => [string, boolean]) => {
    if (parts.some((p) => !p)) checks.push({ target, measured: "not measured", met: null });
    else {
      const [measured, met] = f();
      checks.push({ target, measured, met });
    }
  };
  add("GET /v1/me without cache ≥ 70% of bare req/s", [bypass, bare], () => {
    const r = bypass!.rps! / bare!.rps!;
    return [`${pct(r)} (${bypass!.rps} vs ${bare!.rps})`, r >= 0.7];
  });
  add("cached GET /v1/me ≥ 55% of bare req/s", [hit, bare], () => {
    const r = hit!.rps! / bare!.rps!;
    return [`${pct(r)} (${hit!.rps} vs ${bare!.rps})`, r >= 0.55];
  });
  add("cached GET /v1/me ≥ Express + jsonwebtoken + ioredis req/s", [hit, express], () => {
    const r = hit!.rps! / express!.rps!;
    return [`${r.toFixed(2)}× (${hit!.rps} vs ${express!.rps})`, r >= 1];
  });
  add("cached GET /v1/me p99 < 2× bare p99", [hit, bare], () => [
    `${hit!.p99Ms} ms vs ${bare!.p99Ms} ms`,
    hit!.p99Ms! < 2 * bare!.p99Ms!,
  ]);
  add("cache hit ≥ 3× req/s of the bypassed request", [hit, bypass], () => {
    const r = hit!.rps! / bypass!.rps!;
    return [`${r.toFixed(2)}× (${hit!.rps} vs ${bypass!.rps})`, r >= 3];
  });
  add("POST message ≥ 70% of the raw db-write batch (the database's ceiling)", [post, dbWrite], () => {
    const r = post!.rps! / dbWrite!.rps!;
    return [`${pct(r)} (${post!.rps} vs ${dbWrite!.rps})`, r >= 0.7];
  });
  add("Redis stopped: 0 non-2xx on the cached route", [down], () => [
    `${down!.non2xx} non-2xx, ${down!.errors} errors of ${down!.total}`,
    down!.non2xx === 0 && down!.errors === 0,
  ]);
  add("Redis stopped: p99 rises < 300 ms", [down, hit], () => {
    const rise = down!.p99Ms! - hit!.p99Ms!;
    return [`+${rise} ms (${down!.p99Ms} vs ${hit!.p99Ms} ms)`, rise < 300];
  });
  return checks;
}

export function formatTargets(checks: TargetCheck[]): string {
  const mark = (m: boolean | null) => (m === null ? "n/a" : m ? "met" : "NOT met");
  const w = Math.max(...checks.map((c) => c.target.length));
  const mw = Math.max(...checks.map((c) => c.measured.length));
  return [
    "targets (issue 6):",
    ...checks.map((c) => `  ${c.target.padEnd(w)}  ${c.measured.padEnd(mw)}  ${mark(c.met)}`),
  ].join("\n");
}
