import { type Client, createClient, type InStatement, type TransactionMode } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import { countTrip } from "../lib/costs.ts";
import { DependencyError } from "../lib/errors.ts";
import { isRetryableError } from "./errors.ts";
import * as schema from "./schema.ts";

export type Database = LibSQLDatabase<typeof schema>;
export interface DatabaseHandle {
  client: Client;
  db: Database;
}

/**
 * `@libsql/client` has no request timeout: every HTTP call to sqld/Turso goes through this
 * fetch, which aborts after `timeoutMs` and turns network failures into a DependencyError.
 */
function fetchWithTimeout(timeoutMs: number) {
  return async (request: Request): Promise<Response> => {
    countTrip("db"); // the calling request's record (lib/costs.ts): the client is shared
    isolateTotal.roundTrips++;
    try {
      return await fetch(request, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new DependencyError("database", err);
    }
  };
}

/** Every round trip of this isolate, all requests and deferred work included (the bench's per-message cost). */
const isolateTotal = { roundTrips: 0 };
export const isolateDatabaseRoundTrips = () => isolateTotal.roundTrips;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `call` again while the server refuses it (SQLITE_BUSY, HTTP 429: see db/errors.ts), with
 * full-jitter exponential backoff; a retry starts only within `budgetMs` of the first call, then
 * the database counts as unavailable (503 + Retry-After). Retrying is safe: a busy autocommit
 * statement did nothing, a busy batch rolled back whole, and a 429 ran nothing at all.
 */
export async function retryBusy<T>(call: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isRetryableError(err)) throw err;
      const delay = Math.random() * Math.min(200, 5 * 2 ** attempt);
      if (Date.now() + delay >= deadline) throw new DependencyError("database", err, 1);
      await sleep(delay);
    }
  }
}

/**
 * The libSQL client the app uses: refusals are retried (above), and batches default to
 * "write" mode (BEGIN IMMEDIATE). drizzle's `db.batch()` sends every batch in the client's
 * default "deferred" mode, where a transaction that reads before it writes can fail to upgrade
 * its lock with SQLITE_BUSY at once, without waiting; an immediate one queues for the lock.
 */
function resilient(client: Client, budgetMs: number): Client {
  const execute: Client["execute"] = (...args: Parameters<Client["execute"]>) =>
    retryBusy(
      () => (client.execute as (...a: typeof args) => ReturnType<Client["execute"]>)(...args),
      budgetMs,
    );
  const batch = (stmts: InStatement[], mode: TransactionMode = "write") =>
    retryBusy(() => client.batch(stmts, mode), budgetMs);
  // A Proxy, not a wrapper object: the client keeps its state in private fields, so every
  // other member must still be called on the client itself.
  return new Proxy(client, {
    get(target, prop) {
      if (prop === "execute") return execute;
      if (prop === "batch") return batch;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * One client and drizzle instance per isolate and configuration (the URL is in the key, so a
 * test's replaced binding gets its own). Creating one does no I/O, and nothing request-scoped
 * is captured: the fetch and its timeout signal are made per call, in the caller's context.
 * `concurrency: Infinity` turns off the client's queue (default 20 in flight): a queued call
 * would start from whichever request freed a slot, i.e. in another request's I/O context, and
 * workerd cancels such requests as hung (found by the realtime benchmark at 100 msg/s). sqld
 * sheds excess load with 429, which retryBusy absorbs.
 */
const handles = new Map<string, DatabaseHandle>();

export function getDatabase(url: string, authToken: string | undefined, timeoutMs: number): DatabaseHandle {
  const key = `${url}|${authToken ?? ""}|${timeoutMs}`;
  let handle = handles.get(key);
  if (!handle) {
    const client = resilient(
      createClient({ url, authToken, fetch: fetchWithTimeout(timeoutMs), concurrency: Infinity }),
      timeoutMs,
    );
    handle = { client, db: drizzle(client, { schema }) };
    handles.set(key, handle);
  }
  return handle;
}
