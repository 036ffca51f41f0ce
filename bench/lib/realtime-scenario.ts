/**
 * The realtime scenarios of `npm run bench`: Petrel (PartyKit chat party → API → sqld) and a plain
 * `ws` broadcast server, driven by the identical client load in the same run; the ws rows are the
 * ceiling each Petrel row is compared with.
 *
 * - `realtime`: the plans of issue #13, 100 clients at 20, 50 and 100 msg/s and 1,000 clients at
 *   10 msg/s (`--clients`/`--rates` replace them with one plan of your own);
 * - `realtime-5k`: 5,000 clients in one room, 2 msg/s in total, with the resident memory of
 *   `partykit dev` and its workerd child.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Costs,
  type Counters,
  type RealtimeOptions,
  type RealtimeRow,
  type RunHooks,
  runRealtime,
} from "./realtime.ts";
import { petrelConnector } from "./realtime-petrel.ts";
import { processTreeRssMb, restPostCost } from "./realtime-probes.ts";
import { compareWithWs, type RealtimeReport } from "./realtime-report.ts";
import { createBenchRoom, SOCKETS_PER_USER, usersFor } from "./realtime-users.ts";
import type { BenchContext } from "./scenarios.ts";
import { startWsBaseline, type WsBaseline, wsConnector } from "./ws-baseline.ts";

export const REALTIME_SCENARIO = "realtime";
export const REALTIME_5K_SCENARIO = "realtime-5k";

export interface RealtimePlan {
  clients: number;
  rates: number[];
}
export const DEFAULT_PLANS: RealtimePlan[] = [
  { clients: 100, rates: [20, 50, 100] },
  { clients: 1000, rates: [10] },
];
export const PLAN_5K: RealtimePlan = { clients: 5000, rates: [2] };

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

/** GET /bench/costs: the API isolate's database and Redis round trips so far. */
const costsOf = (ctx: BenchContext) => async (): Promise<Costs> =>
  (await (await ctx.request("/bench/costs")).json()) as Costs;

/** Whether party/chat.ts asks PartyKit for hibernation (`hibernate: true` in its options). */
export function roomHibernates(): boolean {
  const source = readFileSync(join(import.meta.dirname, "..", "..", "party", "chat.ts"), "utf8");
  return /hibernate:\s*true/.test(source);
}

export async function runRealtimeScenario(
  ctx: BenchContext,
  base: Omit<RealtimeOptions, "clients" | "rates">,
  plans: RealtimePlan[],
  log: (msg: string) => void,
  party?: { pid?: number },
): Promise<RealtimeReport> {
  const rows: RealtimeRow[] = [];
  const report: RealtimeReport = {
    options: { ...base, clients: plans[0]?.clients ?? 0, rates: plans.flatMap((p) => p.rates) },
    users: `distinct users, ${SOCKETS_PER_USER} sockets each at most (the per-user cap); all but the owner seeded in sqld (bench/lib/realtime-users.ts)`,
    baseline:
      "ws: plain broadcast server (ws package, own process), ack to the sender + relay to every client",
    rows,
    hibernation: roomHibernates(),
  };
  for (const plan of plans) {
    const opts: RealtimeOptions = { ...base, clients: plan.clients, rates: plan.rates };
    const large = plan.clients > 1000;
    const hooks: RunHooks = {
      costs: costsOf(ctx),
      connectBatch: large ? 50 : 10,
      connectTimeoutMs: large ? 600_000 : undefined, // 5,000 tickets + sockets take minutes on 2 loaded cores
    };
    const what = `${plan.clients} clients (${usersFor(plan.clients)} users), ${Math.min(base.senders, plan.clients)} senders, ${plan.rates.join(" and ")} msg/s, ${base.warmup} s warm-up + ${base.duration} s each`;
    log(`realtime (petrel): ${what}`);
    try {
      const room = await createBenchRoom(ctx, usersFor(plan.clients));
      report.restPost ??= await restPostCost(ctx, room, costsOf(ctx));
      const c = counters();
      let rss: number | undefined;
      const sample = async () => {
        if (party?.pid) rss = Math.max(rss ?? 0, processTreeRssMb(party.pid));
      };
      const petrel = await runRealtime("petrel", petrelConnector(ctx, room, c), c, opts, log, {
        ...hooks,
        onLive: sample,
      });
      await sample();
      if (large) for (const r of petrel) r.rssMb = rss;
      rows.push(...petrel);
    } catch (err) {
      rows.push(...failedRows("petrel", opts, err));
    }
    log(`realtime (ws baseline): ${what}`);
    let ws: WsBaseline | undefined;
    try {
      ws = await startWsBaseline();
      const c = counters();
      rows.push(
        ...(await runRealtime("ws", wsConnector(ws.url, c), c, opts, log, {
          connectBatch: hooks.connectBatch,
        })),
      );
    } catch (err) {
      rows.push(...failedRows("ws", opts, err));
    } finally {
      await ws?.stop().catch(() => {});
    }
  }
  // Petrel and ws rows side by side, per (clients, rate).
  rows.sort(
    (a, b) =>
      a.clients - b.clients ||
      a.rate - b.rate ||
      (a.scenario === "ws" ? 1 : 0) - (b.scenario === "ws" ? 1 : 0),
  );
  compareWithWs(rows);
  return report;
}

/** Loss, failure or duplicates in a Petrel row make the run fail (exit 1). */
export function realtimeFailed(report: RealtimeReport): boolean {
  return report.rows.some((r) => r.status === "failed" || (r.loss ?? 0) > 0 || (r.duplicates ?? 0) > 0);
}
