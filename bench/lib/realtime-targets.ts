/**
 * The realtime targets of issue #13, checked against one run's rows (Petrel next to the `ws`
 * baseline measured in the same run). A target whose rows are missing is "n/a".
 */
import type { RealtimeRow } from "./realtime.ts";
import type { RealtimeReport } from "./realtime-report.ts";
import { formatTargets, type TargetCheck } from "./targets.ts";

const petrel = (rows: RealtimeRow[], clients: number, rate: number) =>
  rows.find((r) => r.scenario === "petrel" && r.clients === clients && r.rate === rate && r.status === "ok");

export function checkRealtimeTargets(report: RealtimeReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (target: string, clients: number, rate: number, f: (r: RealtimeRow) => [string, boolean]) => {
    const row = petrel(report.rows, clients, rate);
    if (!row) checks.push({ target, measured: "not measured", met: null });
    else {
      const [measured, met] = f(row);
      checks.push({ target, measured, met });
    }
  };
  const lossless = (r: RealtimeRow) => r.loss === 0 && r.duplicates === 0 && r.outOfOrder === 0;
  add("100 × 20 msg/s: p99 ≤ 25 ms", 100, 20, (r) => [`p99 ${r.p99Ms} ms`, lossless(r) && r.p99Ms! <= 25]);
  add("100 × 100 msg/s: ≥ 0.95× ws deliveries/s", 100, 100, (r) => [
    `${r.vsWs?.deliveriesPerS ?? "?"}× (${r.deliveriesPerS}/s)`,
    lossless(r) && (r.vsWs?.deliveriesPerS ?? 0) >= 0.95,
  ]);
  add("100 × 100 msg/s: p99 ≤ 100 ms", 100, 100, (r) => [
    `p99 ${r.p99Ms} ms`,
    lossless(r) && r.p99Ms! <= 100,
  ]);
  add("100 × 100 msg/s: no backlog after the load stops", 100, 100, (r) => [
    `drain ${r.drainMs} ms`,
    r.noBacklog === true,
  ]);
  add("1000 × 10 msg/s: p99 ≤ 80 ms", 1000, 10, (r) => [`p99 ${r.p99Ms} ms`, lossless(r) && r.p99Ms! <= 80]);
  add("5000 × 2 msg/s: 0 loss", 5000, 2, (r) => [
    `${r.delivered}/${r.expected}, ${r.deliveriesPerS}/s, p99 ${r.p99Ms} ms, RSS ${r.rssMb ?? "?"} MiB`,
    lossless(r),
  ]);
  if (petrel(report.rows, 5000, 2) || report.rows.some((r) => r.clients === 5000))
    checks.push({
      target: "5000 × 2 msg/s: the room hibernates",
      measured: report.hibernation
        ? "party/chat.ts sets hibernate: true"
        : "party/chat.ts does not hibernate",
      met: report.hibernation === true,
    });
  return checks;
}

export const formatRealtimeTargets = (report: RealtimeReport) =>
  formatTargets(checkRealtimeTargets(report)).replace("targets (HTTP hot path):", "targets (realtime, #13):");
