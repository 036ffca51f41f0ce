import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** docs/ARCHITECTURE.md's one rule, checked on the import statements of every source file. */
const ROOT = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module a file imports: package names as written, relative paths resolved from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map(([, spec]) =>
    spec!.startsWith(".") ? relative(ROOT, resolve(ROOT, dirname(file), spec!)) : spec!,
  );
}

function violations(dirs: string[], forbidden: RegExp): string[] {
  const files = dirs.flatMap(sources);
  expect(files.length).toBeGreaterThan(5); // the walk found the sources (this check is not vacuous)
  return files.flatMap((f) =>
    importsOf(f)
      .filter((m) => forbidden.test(m))
      .map((m) => `${f} → ${m}`),
  );
}

describe("architecture: imports only point down", () => {
  it("the core, lib and db import nothing from Hono", () => {
    expect(violations(["src/services", "src/lib", "src/db"], /^(hono|@hono\/)/)).toEqual([]);
  });

  it("services never import the HTTP layer or the composition root", () => {
    expect(
      violations(["src/services"], /^src\/(routes|middleware|http|app\.ts|index\.ts|context\/container)/),
    ).toEqual([]);
  });

  it("lib, db, adapters and shared never import services or the HTTP layer", () => {
    const dirs = ["src/lib", "src/db", "src/adapters", "src/shared"];
    expect(violations(dirs, /^src\/(services|routes|middleware|http|context)\//)).toEqual([]);
  });

  it("the parties reach the core only over HTTP: no service, route, database or adapter import", () => {
    expect(violations(["party"], /^src\/(services|routes|middleware|http|db|adapters|context)\//)).toEqual(
      [],
    );
  });

  it("the rule's checks can fail: a route importing Hono is seen", () => {
    expect(violations(["src/routes"], /^@hono\//).length).toBeGreaterThan(0);
  });
});
