import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client/web";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql/web";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/procs.ts";
import { type Service, startSqld } from "../../scripts/lib/stack.ts";
import { isNotNullViolation, isRetryableError, isUniqueViolation } from "../../src/db/errors.ts";

/**
 * src/db/errors.ts against the errors a real sqld raises, as the services see them: through
 * drizzle (which wraps libSQL's error in its own, the original as `cause`) and through a batch.
 */
let sqld: Service;
let dir: string;
let db: ReturnType<typeof drizzle>;
const people = sqliteTable("people", {
  id: text().primaryKey(),
  email: text(),
  handle: text(),
  name: text(),
});
const pairs = sqliteTable("pairs", { a: text(), b: text(), c: text() });
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "petrel-db-errors-"));
  sqld = await startSqld({ dataDir: join(dir, "db"), port: await freePort() });
  const client = createClient({ url: sqld.url });
  await client.batch([
    "create table people (id text primary key, email text not null, handle text not null, name text not null)",
    "create unique index people_email_uq on people (email)",
    "create unique index people_handle_uq on people (handle)",
    "create table pairs (a text not null, b text not null, c text)",
    "create unique index pairs_ab_uq on pairs (a, b)",
    "insert into people values ('1', 'a@x', 'ann', 'Ann')",
    "insert into pairs values ('x', 'y', null)",
  ]);
  db = drizzle(client);
});
afterAll(async () => {
  await sqld?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error("the statement was expected to fail");
}

describe("database errors, recognised in one place", () => {
  it("a unique violation names the column of the index that refused it", async () => {
    const err = await failure(() => db.run(sql`insert into people values ('2', 'a@x', 'bob', 'Bob')`));
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(err, "people.email")).toBe(true);
    expect(isUniqueViolation(err, "people.handle")).toBe(false);
    expect(isNotNullViolation(err)).toBe(false);
    expect(isRetryableError(err)).toBe(false);
  });

  it("inside a batch, and for every column of a composite index", async () => {
    const err = await failure(() =>
      db.batch([
        db.insert(people).values({ id: "3", email: "c@x", handle: "cat", name: "Cat" }),
        db.insert(pairs).values({ a: "x", b: "y", c: "z" }),
      ]),
    );
    expect(isUniqueViolation(err, "pairs.a")).toBe(true);
    expect(isUniqueViolation(err, "pairs.b")).toBe(true);
    expect(isUniqueViolation(err, "pairs.c")).toBe(false);
    expect(isUniqueViolation(err, "people.email")).toBe(false);
  });

  it("a primary key violation counts as a unique violation", async () => {
    const err = await failure(() => db.run(sql`insert into people values ('1', 'd@x', 'dan', 'Dan')`));
    expect(isUniqueViolation(err, "people.id")).toBe(true);
  });

  it("a NOT NULL violation (what the services' guards provoke) names its column", async () => {
    const err = await failure(() => db.run(sql`update people set name = NULL where id = '1'`));
    expect(isNotNullViolation(err, "people.name")).toBe(true);
    expect(isNotNullViolation(err, "people.email")).toBe(false);
    expect(isUniqueViolation(err)).toBe(false);
  });

  it("looks down the cause chain, and not at unrelated errors", () => {
    const deep = new Error("outer", {
      cause: new Error("middle", { cause: new Error("UNIQUE constraint failed: users.handle") }),
    });
    expect(isUniqueViolation(deep, "users.handle")).toBe(true);
    expect(isUniqueViolation(new Error("handle is taken"))).toBe(false);
    expect(isUniqueViolation("UNIQUE constraint failed: users.handle")).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });
});
