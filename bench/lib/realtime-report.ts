/** The realtime table: one row per (system, rate), each Petrel row compared with the ws row at its rate. */
import { BACKLOG_MS, type RealtimeOptions, type RealtimeRow } from "./realtime.ts";

export interface RealtimeReport {
  options: RealtimeOptions;
  users: string;
  baseline: string;
  rows: RealtimeRow[];
  /** Round trips of one REST post to the same room (bench/lib/realtime-probes.ts). */
  restPost?: { db: number; redis: number; posts: number };
  /** Whether party/chat.ts asks for hibernation. */
  hibernation?: boolean;
}

/** Missing or NaN (no samples) as "-". */
const num = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "-" : String(n));

const times = (n: number, digits: number) => (Number.isNaN(n) ? "-" : `${n.toFixed(digits)}×`);

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN;

/** Fill in `vsWs` on every non-ws row that has a ws row at the same rate. */
export function compareWithWs(rows: RealtimeRow[]): void {
  for (const r of rows) {
    if (r.scenario === "ws" || r.status !== "ok") continue;
    const ws = rows.find(
      (w) => w.scenario === "ws" && w.clients === r.clients && w.rate === r.rate && w.status === "ok",
    );
    if (!ws) continue;
    r.vsWs = {
      deliveriesPerS: ratio(r.deliveriesPerS, ws.deliveriesPerS),
      p50: ratio(r.p50Ms, ws.p50Ms),
      p99: ratio(r.p99Ms, ws.p99Ms),
    };
  }
}

export function formatRealtimeTable(report: RealtimeReport): string {
  const { rows } = report;
  const header = [
    "realtime",
    "clients",
    "msg/s",
    "sent",
    "acked",
    "deliveries/s",
    "loss",
    "dup",
    "ooo",
    "p50 ms",
    "p99 ms",
    "ack p50/p99 ms",
    "db/msg",
    "redis/msg",
    "no backlog",
    "vs ws (deliv/s, p50, p99)",
  ];
  const vs = (r: RealtimeRow) =>
    r.vsWs
      ? `${times(r.vsWs.deliveriesPerS, 2)}, ${times(r.vsWs.p50, 1)}, ${times(r.vsWs.p99, 1)}`
      : r.scenario === "ws"
        ? "(ceiling)"
        : "-";
  const body = rows.map((r) =>
    r.status === "ok"
      ? [
          r.scenario,
          String(r.clients),
          String(r.rate),
          num(r.sent),
          num(r.acked),
          num(r.deliveriesPerS),
          num(r.loss),
          num(r.duplicates),
          num(r.outOfOrder),
          num(r.p50Ms),
          num(r.p99Ms),
          `${num(r.ackP50Ms)} / ${num(r.ackP99Ms)}`,
          num(r.dbPerMsg),
          num(r.redisPerMsg),
          r.noBacklog === undefined ? "-" : r.noBacklog ? "yes" : "NO",
          vs(r),
        ]
      : [
          r.scenario,
          String(r.clients),
          String(r.rate),
          r.status,
          ...Array<string>(header.length - 4).fill("-"),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];

  const notes: string[] = [];
  for (const r of rows) {
    const tag = `${r.scenario} ${r.clients} × ${r.rate} msg/s`;
    if (r.status !== "ok") {
      notes.push(`  ${tag}: ${r.note ?? "failed"}`);
      continue;
    }
    const extra = [
      `expected ${r.expected} deliveries (${r.sent} × ${r.clients}), got ${r.delivered}`,
      `max ${num(r.maxMs)} ms`,
      `drain ${r.drainMs} ms`,
    ];
    if (r.rssMb !== undefined) extra.push(`partykit dev + workerd RSS ${r.rssMb} MiB`);
    if (r.errors) extra.push(`${r.errors} error frames`);
    if (r.reconnects) extra.push(`${r.reconnects} reconnects`);
    if (r.gapSyncs) extra.push(`${r.gapSyncs} gap syncs (frames out of seq order on the wire)`);
    if (r.outOfOrder) extra.push("ooo: deliveries that came after a later message of the same sender");
    if (r.loss) extra.push("LOSS: deliveries missing after the drain timeout");
    notes.push(`  ${tag}: ${extra.join("; ")}`);
  }
  out.push(
    "",
    "realtime notes (latency = send → each client's message callback, over all deliveries; ack = send → ack;",
    "db/msg, redis/msg = the API's round trips during the phase ÷ messages sent, counted in its adapters;",
    `no backlog = every delivery and ack within ${BACKLOG_MS} ms of the last send):`,
    `  users: ${report.users}`,
    ...(report.restPost
      ? [
          `  one REST post to the same room: ${report.restPost.db} db and ${report.restPost.redis} Redis round trips (mean of ${report.restPost.posts})`,
        ]
      : []),
    ...notes,
  );
  return out.join("\n");
}
