import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LibsqlError } from "@libsql/client";
import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/procs.ts";
import { type Service, startSqld } from "../../scripts/lib/stack.ts";
import { getDatabase, retryBusy } from "../../src/db/client.ts";
import { countTrips } from "../../src/lib/costs.ts";
import { DependencyError } from "../../src/lib/errors.ts";

/**
 * Local sqld as the stack starts it (scripts/lib/stack.ts), driven from Node: writers whose
 * requests are cancelled while they wait for the write lock (client timeouts, workerd ending a
 * request) once left sqld 0.24.32 spinning at ~200 % CPU with every later write hanging.
 */
let sqld: Service;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "petrel-sqld-"));
  sqld = await startSqld({ dataDir: join(dir, "db"), port: await freePort() });
  const c = createClient({ url: sqld.url });
  await c.batch([
    "create table rooms (id text primary key, last_seq integer not null default 0)",
    "create table messages (id integer primary key, room_id text, seq integer, body text)",
    "insert into rooms (id) values ('r')",
  ]);
});
afterAll(async () => {
  await sqld?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The message post's write batch, with a fetch that gives up after `abortMs`. */
function postBatch(abortMs: number) {
  const client = createClient({
    url: sqld.url,
    fetch: (req: Request) => fetch(req, { signal: AbortSignal.timeout(abortMs) }),
  });
  return client.batch(
    [
      "update rooms set last_seq = last_seq + 1 where id = 'r'",
      {
        sql: "insert into messages (room_id, seq, body) values ('r', (select last_seq from rooms where id = 'r'), ?)",
        args: ["x".repeat(2000)],
      },
    ],
    "write",
  );
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

describe("local sqld under cancelled concurrent writers", () => {
  it("1,000 writes in bursts of 50, half of them cancelled mid-wait: sqld stays responsive and goes idle", async () => {
    for (let round = 0; round < 20; round++) {
      await Promise.allSettled(Array.from({ length: 50 }, (_, i) => postBatch(i % 2 ? 15 : 10_000)));
    }
    const started = Date.now();
    await postBatch(5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = sqld.proc.child.pid!;
    const before = cpuTicks(pid);
    await new Promise((r) => setTimeout(r, 2000));
    const percent = (cpuTicks(pid) - before) / 2; // ticks are 1/100 s: percent of one core
    expect(percent).toBeLessThan(25);
    // Seqs stayed gapless through it all: every committed insert took the next seq.
    const rows = await createClient({ url: sqld.url }).execute("select seq from messages order by seq");
    expect(rows.rows.map((r) => Number(r.seq))).toEqual(
      Array.from({ length: rows.rows.length }, (_, i) => i + 1),
    );
  });

  it("past 128 waiting requests sqld sheds load with 429; the app's client retries them through", async () => {
    const burst = (run: () => Promise<unknown>) => Promise.allSettled(Array.from({ length: 400 }, run));
    const raw = await burst(() => createClient({ url: sqld.url }).execute("select count(*) from messages"));
    const refused = raw.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    expect(refused.length).toBeGreaterThan(0); // the shedding this client must survive is real
    expect(refused.every((e) => e.includes("HTTP status 429"))).toBe(true);
    const app = await burst(() => getDatabase(sqld.url, undefined, 10_000).client.execute("select 1"));
    expect(app.filter((r) => r.status === "rejected")).toEqual([]);
  });

  it("the app's database client counts round trips per calling request (the bench's cost table)", async () => {
    const handle = getDatabase(sqld.url, undefined, 5_000);
    expect(getDatabase(sqld.url, undefined, 5_000)).toBe(handle); // one client per isolate and key
    expect(getDatabase(sqld.url, undefined, 5_001)).not.toBe(handle);
    const a = { db: 0, redis: 0 };
    const b = { db: 0, redis: 0 };
    // Two "requests" interleaved on the one shared client: each counts only its own trips.
    await Promise.all([
      countTrips(a, async () => {
        await handle.client.batch(["update rooms set last_seq = last_seq where id = 'r'"]);
        await handle.client.execute("select 1");
      }),
      countTrips(b, () => handle.client.execute("select 1")),
    ]);
    expect(a).toEqual({ db: 2, redis: 0 });
    expect(b).toEqual({ db: 1, redis: 0 });
    await handle.client.execute("select 1"); // outside a counted request: recorded nowhere
    expect([a.db, b.db]).toEqual([2, 1]);
  });
});

describe("retryBusy: SQLITE_BUSY and HTTP 429 are retried with jitter within the budget, then a 503", () => {
  const busy = () => new LibsqlError("database is locked", "SQLITE_BUSY");

  it("succeeds once the lock frees, calling again only on busy errors", async () => {
    let calls = 0;
    const shed = () => new LibsqlError("Server returned HTTP status 429", "SERVER_ERROR");
    const value = await retryBusy(async () => {
      calls++;
      if (calls === 1) throw busy();
      if (calls === 2) throw shed();
      return "ok";
    }, 1000);
    expect([value, calls]).toEqual(["ok", 3]);
    let other = 0;
    await expect(
      retryBusy(async () => {
        other++;
        throw new LibsqlError("UNIQUE constraint failed", "SQLITE_CONSTRAINT");
      }, 1000),
    ).rejects.toThrow("UNIQUE");
    expect(other).toBe(1);
  });

  it("gives up inside the budget as a DependencyError (503, Retry-After 1)", async () => {
    const started = Date.now();
    const err = await retryBusy(async () => {
      throw busy();
    }, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as DependencyError).dependency).toBe("database");
    expect((err as DependencyError).retryAfter).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000); // the budget, one backoff step, a loaded machine
  });
});
