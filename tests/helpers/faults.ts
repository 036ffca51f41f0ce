import { inject } from "vitest";
import { getDatabase } from "../../src/db/client.ts";

/**
 * Make writes of some rows fail inside sqld: a real SQLite error in the real database, in the
 * middle of whatever batch the API is running. `when` is a condition on `$row` (NEW for inserts,
 * OLD for updates and deletes) that scopes the failure to the test's own rows, so tests running
 * in parallel are not affected. Drop it in a `finally`.
 */
export async function failingTrigger(
  table: string,
  timing: "insert" | "update" | "delete",
  when: string,
): Promise<{ drop(): Promise<unknown> }> {
  const { client } = getDatabase(inject("sqldUrl"), undefined, 5000);
  const name = `fail_${crypto.randomUUID().replaceAll("-", "")}`;
  const row = timing === "insert" ? "new" : "old";
  await client.execute(
    `create trigger ${name} before ${timing} on ${table} when ${when.replaceAll("$row", row)} ` +
      "begin select raise(abort, 'injected failure'); end",
  );
  return { drop: () => client.execute(`drop trigger if exists ${name}`) };
}

/** Rows of a query against the test database (for asserting what was, or was not, written). */
export async function rows(sql: string, args: Array<string | number> = []) {
  const { client } = getDatabase(inject("sqldUrl"), undefined, 5000);
  return (await client.execute({ sql, args })).rows;
}
