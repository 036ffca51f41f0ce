/**
 * Print the caching targets (bench/lib/targets.ts) for a saved run:
 *   node bench/targets.ts [bench/results/<file>.json]   (default: bench/results/latest.json)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Report } from "./lib/report.ts";
import { checkTargets, formatTargets } from "./lib/targets.ts";

const file = process.argv[2] ?? join(import.meta.dirname, "results", "latest.json");
const report = JSON.parse(readFileSync(file, "utf8")) as Report;
console.log(`${report.startedAt}: ${report.runtime}`);
console.log(formatTargets(checkTargets(report.rows)));
