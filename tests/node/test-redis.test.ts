import { describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/procs.ts";
import { startTestRedis } from "../../scripts/lib/stack.ts";

/**
 * The test stacks' Redis (scripts/lib/stack.ts): never a quiet fallback to the memory store.
 * In CI, or for the vitest suite, a redis-server that is missing or does not start fails the run
 * with a message that says what to do; a local browser-test run goes on, loudly degraded.
 */
const MISSING = { PETREL_TEST_REDIS_SERVER: "petrel-no-such-redis-server" };
// A command that exists but exits at once: redis-server "cannot be started".
const BROKEN = { PETREL_TEST_REDIS_SERVER: "false" };

async function attempt(env: Record<string, string | undefined>, required = false) {
  const warnings: string[] = [];
  const result = startTestRedis({ port: await freePort(), env, required, warn: (m) => warnings.push(m) });
  return { result, warnings };
}

describe("startTestRedis", () => {
  it("starts the real redis-server when there is one", async () => {
    const { result, warnings } = await attempt({ CI: "true" });
    const redis = await result;
    expect(redis?.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(warnings).toEqual([]);
    await redis?.stop();
  });

  it.each([
    ["missing", MISSING, /petrel-no-such-redis-server was not found/],
    ["not starting", BROKEN, /false did not start: .*exited with code 1/s],
  ])("fails in CI when redis-server is %s, saying why and what to do", async (_, env, why) => {
    const { result, warnings } = await attempt({ ...env, CI: "true" });
    await expect(result).rejects.toThrow(why);
    await expect(result).rejects.toThrow(
      /CI \(CI=true\) must test against a real Redis.*apt-get install redis-server/s,
    );
    expect(warnings).toEqual([]);
  });

  it("fails for the vitest suite (required) even outside CI", async () => {
    const { result } = await attempt({ ...MISSING }, true);
    await expect(result).rejects.toThrow(/not found\. The test suite needs a real Redis/);
  });

  it.each<Record<string, string>>([{}, { CI: "false" }, { CI: "0" }])(
    "degrades loudly outside CI (%o)",
    async (ci) => {
      const { result, warnings } = await attempt({ ...MISSING, ...ci });
      expect(await result).toBeUndefined();
      expect(warnings.join("\n")).toMatch(/^WARNING: .*not found\. Running DEGRADED: .*memory store/);
      expect(warnings.join("\n")).toMatch(/With CI set this is an error/);
    },
  );
});
