/**
 * Raw database baselines: the statements a route sends, straight from Node to the same sqld with
 * `@libsql/client`, 10 concurrent, no Worker in between. They show the database's own ceiling on
 * this machine, so the message routes can be judged against it rather than an absolute number.
 */
import { randomUUID } from "node:crypto";
import { createClient } from "@libsql/client/web";
import { roomWithMessages } from "./cache-scenarios.ts";
import type { LoadOptions, Row } from "./load.ts";
import type { BenchContext, Scenario } from "./scenarios.ts";

const CONCURRENCY = 10;

/** Closed loop: `CONCURRENCY` workers call `op` back to back for `seconds`; latencies in ms. */
async function closedLoop(seconds: number, op: () => Promise<unknown>) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await op();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? 0) * 10) / 10;
  return {
    rps: Math.round(latencies.length / seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors,
    total: latencies.length,
  };
}

/** Run a raw baseline with the same warm-up and duration as the HTTP scenarios. */
async function measure(opts: LoadOptions, op: () => Promise<unknown>): Promise<Partial<Row>> {
  if (opts.warmup > 0) await closedLoop(opts.warmup, op);
  return { ...(await closedLoop(opts.duration, op)), non2xx: 0, dbTrips: 1, redisTrips: 0 };
}

/** A client per call, as the Worker makes one per request. */
const client = (ctx: BenchContext) => createClient({ url: ctx.services.libsqlUrl });

export const dbBaselines: Scenario[] = [
  {
    name: "db-read-one",
    method: "GET",
    path: "(sqld) one user row",
    description: "Baseline: the single-row read an uncached GET /v1/me needs, from Node to sqld",
    run: async (ctx, opts) => {
      const r = await roomWithMessages(ctx, 0);
      return measure(opts, () =>
        client(ctx).execute({
          sql: "select id, email, name, handle, role, email_verified_at, created_at from users where id = ? and disabled_at is null",
          args: [r.id],
        }),
      );
    },
  },
  {
    name: "db-read",
    method: "GET",
    path: "(sqld) latest 50 messages",
    description: "Baseline: the latest-page query of GET /v1/rooms/:id/messages, from Node to sqld",
    run: async (ctx, opts) => {
      const r = await roomWithMessages(ctx, 50);
      return measure(opts, () =>
        client(ctx).execute({
          sql: "select * from messages where room_id = ? order by seq desc limit 51",
          args: [r.roomId],
        }),
      );
    },
  },
  {
    name: "db-write",
    method: "POST",
    path: "(sqld) message insert batch",
    description:
      "Baseline: POST /v1/rooms/:id/messages' write batch (seq + insert, BEGIN IMMEDIATE) from Node to sqld",
    run: async (ctx: BenchContext, opts: LoadOptions) => {
      const r = await roomWithMessages(ctx, 0);
      return measure(opts, () =>
        client(ctx).batch(
          [
            { sql: "update rooms set last_seq = last_seq + 1 where id = ?", args: [r.roomId] },
            {
              sql: "insert into messages (id, room_id, seq, author_id, body, attachments, client_id) values (?, ?, (select last_seq from rooms where id = ?), ?, ?, '[]', ?) returning *",
              args: [randomUUID(), r.roomId, r.roomId, r.id, "hello from the benchmark", randomUUID()],
            },
          ],
          "write",
        ),
      );
    },
  },
];
