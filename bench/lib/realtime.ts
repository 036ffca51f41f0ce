/**
 * The realtime load driver, the same for Petrel and the `ws` baseline: N clients connected to one
 * room, S of them sending at a fixed total rate (open loop: the schedule does not wait for acks)
 * for D seconds. Every body is `{p, g, s, t}`: phase, global message index, sender, and the send
 * time from performance.now() — all clients live in this process, so one clock serves for all.
 * A delivery is a body reaching a client's message callback (for Petrel: RoomClient.onMessage, i.e.
 * after its seq ordering and gap repair). Expected deliveries = sent × N (senders receive their own).
 */

export interface RealtimeOptions {
  clients: number;
  senders: number;
  /** Total messages per second, one measured phase per rate. */
  rates: number[];
  /** Seconds per measured phase. */
  duration: number;
  /** Seconds of warm-up at each rate before it is measured, discarded. */
  warmup: number;
}

/** Round trips the API made so far (GET /bench/costs: counted in its database and Redis adapters). */
export interface Costs {
  db: number;
  redis: number;
}

export interface RunHooks {
  /** Read before and after each measured phase: the growth ÷ messages sent is the cost per message. */
  costs?: () => Promise<Costs>;
  /** Clients connected at once (default 10). */
  connectBatch?: number;
  /** Give up connecting after this long (default: no limit). */
  connectTimeoutMs?: number;
  /** Called once every client is live (e.g. to sample memory). */
  onLive?: () => Promise<void>;
}

export interface LoadClient {
  /** Resolves when the server acknowledges the message. */
  send(body: string): Promise<unknown>;
  close(): void;
}
/** Open client `index` (resolve once it is live); `onBody` gets every delivered message body. */
export type Connect = (index: number, onBody: (body: string) => void) => Promise<LoadClient>;

/** Filled in by the connectors. */
export interface Counters {
  errors: number;
  reconnects: number;
  /** Petrel only: syncs started after a client was live (a gap or reorder on the wire). */
  gapSyncs: number;
}

export interface RealtimeRow {
  scenario: string;
  /** skipped: an earlier (lower) rate already lost messages; the stack is not trusted after that. */
  status: "ok" | "failed" | "skipped";
  note?: string;
  clients: number;
  senders: number;
  rate: number;
  durationS: number;
  sent?: number;
  acked?: number;
  expected?: number;
  delivered?: number;
  deliveriesPerS?: number;
  loss?: number;
  duplicates?: number;
  outOfOrder?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  ackP50Ms?: number;
  ackP99Ms?: number;
  /** From the last send until the last delivery (or the drain timeout). */
  drainMs?: number;
  /** Every delivery and ack arrived within BACKLOG_MS of the last send: nothing piled up. */
  noBacklog?: boolean;
  /** Database and Redis round trips of the API during the phase, per message sent. */
  dbPerMsg?: number;
  redisPerMsg?: number;
  /** Resident memory of `partykit dev` + its workerd child, MiB (large rooms only). */
  rssMb?: number;
  errors?: number;
  reconnects?: number;
  gapSyncs?: number;
  /** Filled in by the report: this row ÷ the ws row at the same rate. */
  vsWs?: { deliveriesPerS: number; p50: number; p99: number };
}

const DRAIN_TIMEOUT_MS = 15_000;
/** "No backlog after the load stops": the last delivery within this long of the last send. */
export const BACKLOG_MS = 1000;
const CONNECT_BATCH = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Counters of one phase; deliveries of other phases (late warm-up frames) are ignored. */
class Phase {
  readonly received: Uint8Array[];
  readonly lastFromSender: Int32Array;
  readonly latencies: Float64Array;
  readonly ackLatencies: Float64Array;
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  sent = 0;
  acked = 0;
  failed = 0;
  lastDelivery = 0;
  readonly id: number;
  readonly total: number;
  readonly clients: number;
  readonly senders: number;
  constructor(id: number, total: number, clients: number, senders: number) {
    this.id = id;
    this.total = total;
    this.clients = clients;
    this.senders = senders;
    this.received = Array.from({ length: clients }, () => new Uint8Array(total));
    this.lastFromSender = new Int32Array(clients * senders).fill(-1);
    this.latencies = new Float64Array(total * clients);
    this.ackLatencies = new Float64Array(total);
  }
  deliver(client: number, g: number, s: number, t: number, now: number) {
    const seen = this.received[client]!;
    if (seen[g]) {
      this.duplicates++;
      return;
    }
    seen[g] = 1;
    const k = client * this.senders + s;
    if (g < this.lastFromSender[k]!) this.outOfOrder++;
    else this.lastFromSender[k] = g;
    this.latencies[this.delivered++] = now - t;
    this.lastDelivery = now;
  }
  get done() {
    return this.acked + this.failed === this.total && this.delivered === this.total * this.clients;
  }
}

/** Connect every client, run one phase per rate (warm-up, then measured), close everything. */
export async function runRealtime(
  scenario: string,
  connect: Connect,
  counters: Counters,
  opts: RealtimeOptions,
  log: (msg: string) => void,
  hooks: RunHooks = {},
): Promise<RealtimeRow[]> {
  const senders = Math.min(opts.senders, opts.clients);
  let current: Phase | undefined;
  const onBody = (client: number) => (body: string) => {
    const now = performance.now();
    const b = JSON.parse(body) as { p: number; g: number; s: number; t: number };
    if (current && b.p === current.id) current.deliver(client, b.g, b.s, b.t, now);
  };

  const clients: LoadClient[] = [];
  const rows: RealtimeRow[] = [];
  try {
    const started = performance.now();
    const step = hooks.connectBatch ?? CONNECT_BATCH;
    for (let i = 0; i < opts.clients; i += step) {
      const batch = Array.from({ length: Math.min(step, opts.clients - i) }, (_, j) =>
        connect(i + j, onBody(i + j)),
      );
      const settled = await Promise.allSettled(batch);
      for (const r of settled) if (r.status === "fulfilled") clients.push(r.value);
      const failed = settled.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      if (hooks.connectTimeoutMs && performance.now() - started > hooks.connectTimeoutMs)
        throw new Error(
          `only ${clients.length} of ${opts.clients} clients live after ${hooks.connectTimeoutMs / 1000} s`,
        );
      if (i > 0 && i % 1000 === 0) log(`${scenario}: ${clients.length} clients live`);
    }
    log(`${scenario}: ${clients.length} clients live in ${round((performance.now() - started) / 1000, 1)} s`);
    await hooks.onLive?.();

    let phaseId = 0;
    let broken: string | undefined;
    for (const rate of opts.rates) {
      const base = { scenario, clients: opts.clients, senders, rate, durationS: opts.duration };
      if (broken) {
        rows.push({ ...base, status: "skipped", note: broken });
        continue;
      }
      if (opts.warmup > 0) {
        current = new Phase(++phaseId, Math.max(1, Math.round(rate * opts.warmup)), opts.clients, senders);
        await drive(current, clients, rate);
      }
      const before = { ...counters };
      const costsBefore = await hooks.costs?.();
      current = new Phase(++phaseId, Math.max(1, Math.round(rate * opts.duration)), opts.clients, senders);
      const drainMs = await drive(current, clients, rate);
      const costsAfter = await hooks.costs?.();
      const per = (k: keyof Costs) =>
        costsBefore && costsAfter ? round((costsAfter[k] - costsBefore[k]) / current!.sent) : undefined;
      rows.push({
        ...base,
        status: "ok",
        ...summarize(current, drainMs, opts.duration),
        dbPerMsg: per("db"),
        redisPerMsg: per("redis"),
        errors: counters.errors - before.errors,
        reconnects: counters.reconnects - before.reconnects,
        gapSyncs: counters.gapSyncs - before.gapSyncs,
      });
      const r = rows.at(-1)!;
      log(
        `${scenario} @ ${rate} msg/s: ${r.delivered}/${r.expected} deliveries, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
      );
      current = undefined;
      if (r.loss || (r.acked ?? 0) < (r.sent ?? 0))
        broken = `not run: ${r.rate} msg/s already lost deliveries or acks (a higher rate would measure the wreckage)`;
      await sleep(300); // let stragglers land outside any phase
    }
    return rows;
  } finally {
    current = undefined;
    for (const c of clients) c.close();
  }
}

/** Send `phase.total` messages at `rate`/s round-robin over the senders; wait for the drain. */
async function drive(phase: Phase, clients: LoadClient[], rate: number): Promise<number> {
  const interval = 1000 / rate;
  const fire = (g: number) => {
    const s = g % phase.senders;
    const t = performance.now();
    phase.sent++;
    clients[s]!.send(JSON.stringify({ p: phase.id, g, s, t })).then(
      () => {
        phase.ackLatencies[phase.acked++] = performance.now() - t;
      },
      () => {
        phase.failed++;
      },
    );
  };
  const start = performance.now();
  for (let g = 0; g < phase.total; ) {
    const due = Math.min(phase.total, Math.floor((performance.now() - start) / interval) + 1);
    while (g < due) fire(g++);
    if (g < phase.total) await sleep(Math.max(1, start + g * interval - performance.now()));
  }
  const lastSend = performance.now();
  while (!phase.done && performance.now() - lastSend < DRAIN_TIMEOUT_MS) await sleep(10);
  return (phase.done ? phase.lastDelivery : performance.now()) - lastSend;
}

function summarize(p: Phase, drainMs: number, durationS: number): Partial<RealtimeRow> {
  const lat = p.latencies.subarray(0, p.delivered).sort();
  const ack = p.ackLatencies.subarray(0, p.acked).sort();
  const expected = p.total * p.clients;
  return {
    sent: p.sent,
    acked: p.acked,
    expected,
    delivered: p.delivered,
    // Over the whole span the deliveries took: the send window plus the drain.
    deliveriesPerS: Math.round(p.delivered / ((durationS * 1000 + Math.max(0, drainMs)) / 1000)),
    loss: expected - p.delivered,
    duplicates: p.duplicates,
    outOfOrder: p.outOfOrder,
    p50Ms: round(percentile(lat, 0.5)),
    p99Ms: round(percentile(lat, 0.99)),
    maxMs: round(lat.length ? lat[lat.length - 1]! : Number.NaN),
    ackP50Ms: round(percentile(ack, 0.5)),
    ackP99Ms: round(percentile(ack, 0.99)),
    drainMs: Math.round(drainMs),
    noBacklog: p.done && drainMs <= BACKLOG_MS,
  };
}
