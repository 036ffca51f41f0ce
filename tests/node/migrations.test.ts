import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/stack.ts";

/**
 * Migrations come from the schema and never change once they landed (STYLE.md 11).
 *
 * Adding a migration: change src/db/schema.ts, run `npm run db:generate` (writes
 * migrations/NNNN_<name>.sql and its meta/ snapshot), then add the new file's sha256 to
 * migrations/checksums.json (`sha256sum migrations/NNNN_<name>.sql`; the failing test below prints
 * the exact line). Never edit a listed file or its checksum: a change to a landed table is a new
 * migration.
 */
const MIGRATIONS = join(ROOT, "migrations");
const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta", "_journal.json"), "utf8")) as {
  entries: { idx: number; tag: string }[];
};
const checksums = JSON.parse(readFileSync(join(MIGRATIONS, "checksums.json"), "utf8")) as Record<
  string,
  string
>;
const sha256 = (file: string) =>
  createHash("sha256")
    .update(readFileSync(join(MIGRATIONS, file)))
    .digest("hex");
const sqlFiles = readdirSync(MIGRATIONS).filter((f) => f.endsWith(".sql"));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every file below `dir`, relative to it. */
const listing = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

describe("migrations", () => {
  it("src/db/schema.ts and migrations/ agree: drizzle-kit generate finds nothing new", () => {
    // A copy, so a disagreement leaves the repository untouched. drizzle-kit diffs the schema
    // against the last snapshot in meta/: no database and no network involved.
    const dir = mkdtempSync(join(tmpdir(), "petrel-migrations-"));
    dirs.push(dir);
    const out = join(dir, "migrations");
    cpSync(MIGRATIONS, out, { recursive: true });
    const before = listing(out);
    const bin = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs");
    // drizzle-kit wants --out relative to the working directory.
    const args = [
      "generate",
      "--dialect",
      "turso",
      "--schema",
      "./src/db/schema.ts",
      "--out",
      relative(ROOT, out),
    ];
    const log = execFileSync(process.execPath, [bin, ...args], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: "pipe",
    });
    const added = listing(out).filter((f) => !before.includes(f));
    expect(added, `the schema changed without a migration: run npm run db:generate\n${log}`).toEqual([]);
    expect(log).toMatch(/No schema changes/);
  });

  it("every journal entry has its SQL file, and every SQL file is in the journal, in order", () => {
    expect(journal.entries.map((e) => e.idx)).toEqual(journal.entries.map((_, i) => i));
    expect(journal.entries.map((e) => `${e.tag}.sql`)).toEqual([...sqlFiles].sort());
  });

  it("no migration that landed was edited: each SQL file matches its committed checksum", () => {
    const actual = Object.fromEntries(sqlFiles.map((f) => [f, sha256(f)]));
    for (const [file, hash] of Object.entries(actual)) {
      expect(
        checksums[file],
        `new migration: add  "${file}": "${hash}"  to migrations/checksums.json`,
      ).toBeDefined();
      expect(hash, `${file} was edited after it landed: restore it and add a new migration`).toBe(
        checksums[file],
      );
    }
    // A listed migration that disappeared was removed after it landed.
    expect(Object.keys(checksums).sort()).toEqual(Object.keys(actual).sort());
  });
});
