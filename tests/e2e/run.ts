/**
 * `npm run test:e2e`: builds the client, starts the real local stack on free ports, runs the
 * browser specs (tests/e2e/*.spec.ts, node:test, one file at a time, each in its own process)
 * against it in headless Chromium, then stops everything. Prints a plain "N passed, N failed" line.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { startStack } from "./stack.ts";

const log = (msg: string) => console.log(`[e2e] ${msg}`);
const only: string[] = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".spec.ts") && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort()
  .map((f) => join(import.meta.dirname, f));

const started = Date.now();
const stack = await startStack(log);
process.env.PETREL_E2E_URL = stack.url;
process.env.PETREL_E2E_SHORT_SESSION_URL = stack.shortSessionUrl;
process.env.PETREL_E2E_OIDC_URL = stack.oidcUrl;
process.env.PETREL_E2E_CONTROL_URL = stack.controlUrl;
let passed = 0;
let failed = 0;
try {
  const stream = run({ files, concurrency: 1, timeout: 240_000 });
  stream.on("test:pass", (t) => {
    if (t.details.type !== "suite") passed++;
  });
  stream.on("test:fail", (t) => {
    if (t.details.type !== "suite") failed++;
  });
  await new Promise<void>((resolve, reject) => {
    stream.compose(spec).pipe(process.stdout, { end: false }).on("error", reject);
    stream.on("end", resolve).on("error", reject);
  });
} finally {
  await stack.stop();
}
log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in tests/e2e/screenshots/`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
