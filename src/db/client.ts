import { type Client, createClient } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import { DependencyError } from "../lib/errors.ts";
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
    try {
      return await fetch(request, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new DependencyError("database", err);
    }
  };
}

/**
 * A client per request (the services container creates one lazily). Creating one does no I/O.
 * Sharing one across requests is unsafe in workerd: the client queues calls beyond its
 * concurrency limit and starts them from whichever request frees a slot, so a call runs in
 * another request's context; workerd cancels such requests as hung, their slots are never
 * released, and the isolate stalls (found by the realtime benchmark at 100 msg/s).
 */
export function getDatabase(url: string, authToken: string | undefined, timeoutMs: number): DatabaseHandle {
  const client = createClient({ url, authToken, fetch: fetchWithTimeout(timeoutMs) });
  return { client, db: drizzle(client, { schema }) };
}
