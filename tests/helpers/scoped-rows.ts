import type { Client } from "@libsql/client/web";

/**
 * Every database row that belongs to a scope (some users, one org, an IP range, an email
 * domain, a request-id prefix), read in one transaction. Tests that run in parallel never touch
 * such a scope, so comparing two snapshots shows exactly what the scope's own requests wrote,
 * in every table, including tables added later (they are found through their column names).
 */
export interface RowScope {
  userIds: string[];
  orgId: string;
  /** e.g. "198.18." */
  ipPrefix: string;
  /** e.g. "@fuzz.invalid" */
  emailSuffix: string;
  requestIdPrefix: string;
}

const USER_COLUMNS = new Set([
  "user_id",
  "author_id",
  "actor_id",
  "target_id",
  "created_by",
  "invited_by",
  "accepted_by",
  "added_by",
  "uploaded_by",
  "uploader_id",
  "owner_id",
]);

/** Rows written on purpose by a refused request: the audit trail of a failed sign-in. */
const EXCLUDED: Record<string, string> = { audit_log: `"action" <> 'user.login_failed'` };

export type Snapshot = Record<string, string>;

export async function scopedTables(client: Client) {
  const tables = await client.execute(
    "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '\\_%' escape '\\' and name not like 'libsql_%' order by name",
  );
  const out: Array<{ table: string; columns: string[] }> = [];
  for (const row of tables.rows) {
    const table = String(row.name);
    const cols = await client.execute({ sql: "select name from pragma_table_info(?)", args: [table] });
    out.push({ table, columns: cols.rows.map((r) => String(r.name)) });
  }
  return out;
}

export function scopeQueries(tables: Array<{ table: string; columns: string[] }>, scope: RowScope) {
  const users = scope.userIds.map((id) => `'${id.replace(/'/g, "")}'`).join(",");
  const org = `'${scope.orgId.replace(/'/g, "")}'`;
  const queries: Array<{ table: string; sql: string }> = [];
  const unscoped: string[] = [];
  for (const { table, columns } of tables) {
    const conds: string[] = [];
    for (const c of columns) {
      const col = `"${c}"`;
      if (USER_COLUMNS.has(c)) conds.push(`${col} in (${users})`);
      if (c === "org_id") conds.push(`${col} = ${org}`);
      if (c === "room_id") conds.push(`${col} in (select id from rooms where org_id = ${org})`);
      if (c === "ip") conds.push(`${col} like '${scope.ipPrefix}%'`);
      if (c === "email" || c === "to") conds.push(`${col} like '%${scope.emailSuffix}'`);
      if (c === "request_id") conds.push(`${col} like '${scope.requestIdPrefix}%'`);
    }
    if (table === "users") conds.push(`"id" in (${users})`);
    if (table === "orgs") conds.push(`"id" = ${org}`);
    if (!conds.length) {
      unscoped.push(table);
      continue;
    }
    const extra = EXCLUDED[table] ? ` and ${EXCLUDED[table]}` : "";
    queries.push({
      table,
      sql: `select * from "${table}" where (${conds.join(" or ")})${extra} order by rowid`,
    });
  }
  return { queries, unscoped };
}

export async function snapshot(
  client: Client,
  queries: Array<{ table: string; sql: string }>,
): Promise<Snapshot> {
  const results = await client.batch(
    queries.map((q) => q.sql),
    "read",
  );
  return Object.fromEntries(
    queries.map((q, i) => [q.table, JSON.stringify(results[i]!.rows.map((r) => Object.values(r)))]),
  );
}

/** The tables whose scoped rows differ, with the rows before and after (for a failure message). */
export function diff(before: Snapshot, after: Snapshot): string[] {
  return Object.keys(after)
    .filter((t) => before[t] !== after[t])
    .map((t) => `${t}: ${before[t]?.slice(0, 400)} → ${after[t]?.slice(0, 800)}`);
}
