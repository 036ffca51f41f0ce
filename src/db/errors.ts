/**
 * Recognising libSQL errors in one place. `@libsql/client` raises `LibsqlError` with a `code`
 * ("SQLITE_BUSY", "SQLITE_CONSTRAINT_UNIQUE", ...); drizzle wraps it in its own query error with
 * the original as `cause`, so every check walks the cause chain.
 */
function* chain(err: unknown): Generator<{ code?: unknown; message?: unknown }> {
  let cur: unknown = err;
  for (let depth = 0; cur && typeof cur === "object" && depth < 8; depth++) {
    yield cur as { code?: unknown; message?: unknown };
    cur = (cur as { cause?: unknown }).cause;
  }
}

function matches(err: unknown, code: RegExp, message: RegExp): boolean {
  for (const e of chain(err)) {
    if (typeof e.code === "string" && code.test(e.code)) return true;
    if (typeof e.message === "string" && message.test(e.message)) return true;
  }
  return false;
}

/**
 * The server refused the call without running it, so running it again is safe: another writer
 * holds the lock (SQLITE_BUSY, sqld and Turso both answer it), or the server sheds load with
 * HTTP 429 (sqld does once 128 requests wait for a connection; Turso when rate limited).
 */
export const isRetryableError = (err: unknown) =>
  matches(
    err,
    /^SQLITE_(BUSY|LOCKED)/,
    /SQLITE_BUSY|SQLITE_LOCKED|database (table )?is locked|HTTP status 429\b/i,
  );

/**
 * The columns a constraint failure names, from the first error in the chain that reports one:
 * SQLite says "UNIQUE constraint failed: messages.room_id, messages.client_id" (every column of
 * the violated index, as table.column) and "NOT NULL constraint failed: orgs.name".
 */
function failedColumns(err: unknown, kind: "UNIQUE" | "NOT NULL"): string[] | undefined {
  const prefix = `${kind} constraint failed: `;
  for (const e of chain(err)) {
    if (typeof e.message !== "string") continue;
    const at = e.message.indexOf(prefix);
    if (at < 0) continue;
    return e.message
      .slice(at + prefix.length)
      .split(",")
      .map((c) => c.trim().split(/\s/)[0]!);
  }
  return undefined;
}

/**
 * A unique index (or primary key) refused the write. With `column` ("users.email"), only when the
 * violated index covers that column: tells which of a table's unique fields was taken.
 */
export function isUniqueViolation(err: unknown, column?: string): boolean {
  const columns = failedColumns(err, "UNIQUE");
  return columns !== undefined && (column === undefined || columns.includes(column));
}

/**
 * A NOT NULL column refused the write. The services' in-transaction guards (keepAnOwner and the
 * like) write NULL on purpose to abort a batch, so `column` names which guard fired.
 */
export function isNotNullViolation(err: unknown, column?: string): boolean {
  const columns = failedColumns(err, "NOT NULL");
  return columns !== undefined && (column === undefined || columns.includes(column));
}
