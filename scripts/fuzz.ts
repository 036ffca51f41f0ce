/**
 * `npm run fuzz`: the property-based fuzz test (tests/fuzz.test.ts) with many more requests than
 * the normal test run, against the same real services (the test's global setup starts them).
 *
 *   npm run fuzz                       # 20,000 requests, random seed (printed on failure)
 *   npm run fuzz -- --requests 50000   # more
 *   npm run fuzz -- --seed 1234        # replay a failure
 */
import { parseArgs } from "node:util";
import { startVitest } from "vitest/node";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "20000" }, seed: { type: "string" } },
});
const fuzzRequests = Number(values.requests);
if (!Number.isInteger(fuzzRequests) || fuzzRequests < 1)
  throw new Error("--requests must be a positive integer");
const fuzzSeed = values.seed === undefined ? undefined : Number(values.seed);

const vitest = await startVitest("test", ["tests/fuzz.test.ts"], {
  run: true,
  watch: false,
  provide: { fuzzRequests, ...(fuzzSeed === undefined ? {} : { fuzzSeed }) },
});
const failed = vitest.state.getCountOfFailedTests() > 0 || vitest.state.getUnhandledErrors().length > 0;
await vitest.close();
process.exit(failed ? 1 : 0);
