import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Round trips one request makes to shared services, counted where the call leaves the process
 * (the Redis adapter's HTTP requester, the database client's fetch). The clients are shared per
 * isolate, so the count follows the request's async context rather than a client object. Only
 * with COST_HEADERS=on does a request carry a record (`countTrips`); otherwise `countTrip` finds
 * none and does nothing.
 */
export interface TripCounts {
  db: number;
  redis: number;
}

const current = new AsyncLocalStorage<TripCounts>();

/** Run `fn` (a request's downstream) with `counts` as the record its round trips add to. */
export const countTrips = <T>(counts: TripCounts, fn: () => T): T => current.run(counts, fn);

/** One round trip of the current request, if it is being counted. */
export function countTrip(kind: keyof TripCounts): void {
  const counts = current.getStore();
  if (counts) counts[kind]++;
}
