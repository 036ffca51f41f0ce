import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The JSON report feeds .ci/run's plain "N passed, N failed" line.
    reporters: ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]],
    projects: [
      {
        // Tests run inside workerd with the Worker's real wrangler.toml; bindings point at the
        // services that tests/setup/global-setup.ts started for this run.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: inject("bindings") },
          })),
        ],
        test: {
          name: "workers",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/e2e/**", "tests/node/**"],
          globalSetup: ["./tests/setup/global-setup.ts"],
          isolate: false,
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Checks that need Node (tools that compile code at run time, which workerd forbids).
        test: {
          name: "node",
          include: ["tests/node/**/*.test.ts"],
          exclude: ["tests/node/realtime/**"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
      {
        // Realtime clients workerd cannot create (a paused reader, a killed or frozen process),
        // against a stack of their own (short presence lease); one file at a time, since one
        // of them restarts partykit.
        test: {
          name: "node-realtime",
          include: ["tests/node/realtime/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./tests/setup/node-stack.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
