/**
 * The `realtime` scenario of `npm run bench`: Petrel (PartyKit chat party → API → sqld) and a plain
 * `ws` broadcast server, driven by the identical client load in the same run; the ws rows are the
 * ceiling each Petrel row is compared with.
 */
import { type Counters, type RealtimeOptions, type RealtimeRow, runRealtime } from "./realtime.ts";
import { createBenchRoom, petrelConnector } from "./realtime-petrel.ts";
import { compareWithWs, type RealtimeReport } from "./realtime-report.ts";
import type { BenchContext } from "./scenarios.ts";
import { startWsBaseline, type WsBaseline, wsConnector } from "./ws-baseline.ts";

export const REALTIME_SCENARIO = "realtime";

const failedRows = (scenario: string, opts: RealtimeOptions, err: unknown): RealtimeRow[] =>
  opts.rates.map((rate) => ({
    scenario,
    status: "failed",
    note: err instanceof Error ? err.message : String(err),
    clients: opts.clients,
    senders: Math.min(opts.senders, opts.clients),
    rate,
    durationS: opts.duration,
  }));

const counters = (): Counters => ({ errors: 0, reconnects: 0, gapSyncs: 0 });

export async function runRealtimeScenario(
  ctx: BenchContext,
  opts: RealtimeOptions,
  log: (msg: string) => void,
): Promise<RealtimeReport> {
  const rows: RealtimeRow[] = [];
  const plan = `${opts.clients} clients, ${Math.min(opts.senders, opts.clients)} senders, ${opts.rates.join(" and ")} msg/s, ${opts.warmup} s warm-up + ${opts.duration} s each`;

  log(`realtime (petrel): ${plan}`);
  try {
    const room = await createBenchRoom(ctx);
    const c = counters();
    rows.push(...(await runRealtime("petrel", petrelConnector(ctx, room, c), c, opts, log)));
  } catch (err) {
    rows.push(...failedRows("petrel", opts, err));
  }

  log(`realtime (ws baseline): ${plan}`);
  let ws: WsBaseline | undefined;
  try {
    ws = await startWsBaseline();
    const c = counters();
    rows.push(...(await runRealtime("ws", wsConnector(ws.url, c), c, opts, log)));
  } catch (err) {
    rows.push(...failedRows("ws", opts, err));
  } finally {
    await ws?.stop().catch(() => {});
  }

  // Petrel and ws rows side by side, per rate.
  rows.sort((a, b) => a.rate - b.rate || (a.scenario === "ws" ? 1 : 0) - (b.scenario === "ws" ? 1 : 0));
  compareWithWs(rows);
  return {
    options: opts,
    users:
      "one registered user opens all N sockets (one org, one public room); no memberships inserted in the database",
    baseline:
      "ws: plain broadcast server (ws package, own process), ack to the sender + relay to every client",
    rows,
  };
}

/** Loss, failure or duplicates in a Petrel row make the run fail (exit 1). */
export function realtimeFailed(report: RealtimeReport): boolean {
  return report.rows.some((r) => r.status === "failed" || (r.loss ?? 0) > 0 || (r.duplicates ?? 0) > 0);
}
