import { type Client, createClient, type InStatement, type TransactionMode } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import { DependencyError } from "../lib/errors.ts";
import { isRetryableError } from "./errors.ts";
import * as schema from "./schema.ts";

export type Database = LibSQLDatabase<typeof schema>;
export interface DatabaseHandle {
  client: Client;
  db: Database;
  /** HTTP round trips to sqld/Turso made through this handle (the bench's cost table, tests). */
  readonly roundTrips: number;
}

/**
 * `@libsql/client` has no request timeout: every HTTP call to sqld/Turso goes through this
 * fetch, which aborts after `timeoutMs` and turns network failures into a DependencyError.
 */
function fetchWithTimeout(timeoutMs: number, counted: { roundTrips: number }) {
  return async (request: Request): Promise<Response> => {
    counted.roundTrips++;
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
 * A client per request (the services container creates one lazily). Creating one does no I/O.
 * Sharing one across requests is unsafe in workerd: the client queues calls beyond its
 * concurrency limit and starts them from whichever request frees a slot, so a call runs in
 * another request's context; workerd cancels such requests as hung, their slots are never
 * released, and the isolate stalls (found by the realtime benchmark at 100 msg/s).
 */
export function getDatabase(url: string, authToken: string | undefined, timeoutMs: number): DatabaseHandle {
  const counted = { roundTrips: 0 };
  const client = resilient(
    createClient({ url, authToken, fetch: fetchWithTimeout(timeoutMs, counted) }),
    timeoutMs,
  );
  return {
    client,
    db: drizzle(client, { schema }),
    get roundTrips() {
      return counted.roundTrips;
    },
  };
}
