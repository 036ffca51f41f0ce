import { join } from "node:path";
import { createClient } from "@libsql/client/web";
import { migrate } from "drizzle-orm/libsql/migrator";
import { drizzle } from "drizzle-orm/libsql/web";
import { ROOT } from "./stack.ts";

/** Apply the SQL files in migrations/ (the same ones production gets) to a libSQL server. */
export async function applyMigrations(url: string, authToken?: string): Promise<void> {
  const client = createClient({ url, authToken });
  try {
    await migrate(drizzle(client), { migrationsFolder: join(ROOT, "migrations") });
  } finally {
    client.close();
  }
}
