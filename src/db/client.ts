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

const handles = new Map<string, DatabaseHandle>();

/** One client per isolate and URL: the web client is stateless HTTP, safe to share across requests. */
export function getDatabase(url: string, authToken: string | undefined, timeoutMs: number): DatabaseHandle {
  const key = `${url}|${timeoutMs}`;
  const existing = handles.get(key);
  if (existing && !existing.client.closed) return existing;
  const client = createClient({ url, authToken, fetch: fetchWithTimeout(timeoutMs) });
  const handle = { client, db: drizzle(client, { schema }) };
  handles.set(key, handle);
  return handle;
}
