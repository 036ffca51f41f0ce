/** The `files` scenario's report: transfer rows (MiB/s, Worker vs direct R2), `complete` latency, table. */

export interface TransferRow {
  op: "upload" | "download";
  via: "worker" | "direct";
  /** What was timed: from sending the request until its answer was read to the last byte. */
  request: string;
  samplesMiBs: number[];
  medianMiBs: number;
  bestMiBs: number;
  /** Worker rows: worker / direct, of the medians and of the bests. */
  vsDirectMedian?: number;
  vsDirectBest?: number;
}

export interface FilesReport {
  status: "ok" | "failed";
  note?: string;
  bytes: number;
  contentType: string;
  rounds: number;
  rows: TransferRow[];
  /** POST /v1/files/:id/complete (HEAD + 4 KiB ranged read of the object, one UPDATE). */
  completeMs?: { samples: number[]; median: number; max: number };
}

/** MiB/s per round, in the order the rounds ran. */
export interface FilesSamples {
  workerUp: number[];
  workerDown: number[];
  directUp: number[];
  directDown: number[];
  completeMs: number[];
}

const MiB = 1024 * 1024;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

function row(op: TransferRow["op"], via: TransferRow["via"], request: string, xs: number[]): TransferRow {
  return {
    op,
    via,
    request,
    samplesMiBs: xs.map(round1),
    medianMiBs: round1(median(xs)),
    bestMiBs: round1(Math.max(...xs)),
  };
}

/** Fills in the report's rows (Worker next to direct, with their ratios) and `complete` latency. */
export function summarizeFiles(report: FilesReport, s: FilesSamples) {
  const pairs: Array<[TransferRow, TransferRow]> = [
    [
      row(
        "upload",
        "worker",
        "PUT upload.url (signature, file row, exact-length stream into R2)",
        s.workerUp,
      ),
      row("upload", "direct", "PUT /bench/r2/:key (FILES.put(request.body))", s.directUp),
    ],
    [
      row("download", "worker", "GET downloadUrl (signature, file row, R2 get)", s.workerDown),
      row("download", "direct", "GET /bench/r2/:key (FILES.get → body)", s.directDown),
    ],
  ];
  for (const [worker, direct] of pairs) {
    worker.vsDirectMedian = round2(worker.medianMiBs / direct.medianMiBs);
    worker.vsDirectBest = round2(worker.bestMiBs / direct.bestMiBs);
    report.rows.push(worker, direct);
  }
  report.completeMs = {
    samples: s.completeMs.map(round1),
    median: round1(median(s.completeMs)),
    max: round1(Math.max(...s.completeMs)),
  };
}

export function formatFilesTable(r: FilesReport): string {
  const title = `files: ${r.bytes / MiB} MiB ${r.contentType}, ${r.rounds} sequential round${r.rounds === 1 ? "" : "s"}`;
  if (r.status === "failed") return `${title}\n  failed: ${r.note}`;
  const header = ["transfer", "via", "median MiB/s", "best MiB/s", "vs direct (median / best)"];
  const body = r.rows.map((t) => [
    t.op,
    t.via === "worker" ? "Worker (files API)" : "direct R2 binding",
    t.medianMiBs.toFixed(1),
    t.bestMiBs.toFixed(1),
    t.vsDirectMedian === undefined ? "-" : `${t.vsDirectMedian.toFixed(2)}× / ${t.vsDirectBest?.toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [title, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  const c = r.completeMs;
  if (c) out.push("", `complete (POST /v1/files/:id/complete): median ${c.median} ms, max ${c.max} ms`);
  return out.join("\n");
}
