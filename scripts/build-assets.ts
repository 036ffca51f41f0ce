import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib/stack.ts";

/**
 * Static assets the Worker serves (wrangler.toml [assets] → dist/public): the API reference's
 * script comes from the @scalar/api-reference npm package, never from a CDN; the web client
 * (client/app) is built by Vite into dist/public/app.
 */
export function buildAssets(): string {
  const out = join(ROOT, "dist", "public");
  // The package's exports map hides its browser bundle, so read it from its folder.
  const scalarDir = join(ROOT, "node_modules", "@scalar", "api-reference");
  mkdirSync(join(out, "docs", "assets"), { recursive: true });
  copyFileSync(join(scalarDir, "dist", "browser", "standalone.js"), join(out, "docs", "assets", "scalar.js"));
  // A child process keeps this function synchronous for its callers (dev, tests, deploy).
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const config = join(ROOT, "client", "app", "vite.config.ts");
  const built = spawnSync(process.execPath, [vite, "build", "--config", config], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (built.status !== 0) throw new Error(`the web client build failed (vite exit code ${built.status})`);
  return out;
}

if (import.meta.main) {
  console.log(`assets written to ${buildAssets()}`);
}
