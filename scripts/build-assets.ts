import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib/stack.ts";

/**
 * Static assets the Worker serves (wrangler.toml [assets] → dist/public): the API reference's
 * script comes from the @scalar/api-reference npm package, never from a CDN.
 */
export function buildAssets(): string {
  const out = join(ROOT, "dist", "public");
  // The package's exports map hides its browser bundle, so read it from its folder.
  const scalarDir = join(ROOT, "node_modules", "@scalar", "api-reference");
  mkdirSync(join(out, "docs", "assets"), { recursive: true });
  copyFileSync(join(scalarDir, "dist", "browser", "standalone.js"), join(out, "docs", "assets", "scalar.js"));
  return out;
}

if (import.meta.main) {
  console.log(`assets written to ${buildAssets()}`);
}
