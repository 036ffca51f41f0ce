/** `npm run db:migrate`: apply migrations/ to LIBSQL_URL (default: the dev sqld). */
import { applyMigrations } from "./lib/migrate.ts";

const url = process.env.LIBSQL_URL ?? "http://127.0.0.1:8080";
await applyMigrations(url, process.env.LIBSQL_AUTH_TOKEN || undefined);
console.log(`migrations applied to ${url}`);
