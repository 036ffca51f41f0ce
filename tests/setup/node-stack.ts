/**
 * The stack of the Node realtime tests (tests/node/realtime/): clients the workerd pool cannot
 * create (a paused reader, a process killed or frozen without a close frame) need Node, and a
 * `partykit dev` with a short presence lease and a small read-ack bound, which would disturb the
 * workers project's tests. sqld, redis-server + the Upstash bridge, the Worker in `wrangler dev`
 * and `partykit dev`, as in tests/setup/global-setup.ts; partykit can be stopped and started
 * through the loopback control server (POST /services/partykit/(stop|start)).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import {
  freePort,
  httpOk,
  installExitHooks,
  killAllChildren,
  startProcess,
  waitFor,
} from "../../scripts/lib/procs.ts";
import { generateLocalSecrets, publicJwks } from "../../scripts/lib/secrets.ts";
import {
  BIN,
  OFFLINE_ENV,
  ROOT,
  startPartykit,
  startSqld,
  startTestRedis,
  startWranglerDev,
} from "../../scripts/lib/stack.ts";
import { restartable, startControlServer, testWorkerBindings } from "./stack-control.ts";

declare module "vitest" {
  export interface ProvidedContext {
    nodeStack: {
      workerUrl: string;
      partyUrl: string;
      controlUrl: string;
      sqldUrl: string;
      leaseSeconds: number;
    };
  }
}

/** The party's presence lease here (production: 30 s): clients heartbeat every half lease. */
export const LEASE_SECONDS = 3;
/** Messages a socket may fall behind its read-acks before it is closed with 4001. */
export const MAX_UNACKED = 20;

export default async function setup(project: TestProject) {
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), "petrel-node-rt-"));
  const cleanups: Array<() => unknown> = [];
  const teardown = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const secrets = await generateLocalSecrets();
    const [sqldPort, redisPort, partyPort, workerPort, inspectorPort, bridgePort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const sqld = await startSqld({ dataDir: join(dir, "sqld"), port: sqldPort! });
    cleanups.push(() => sqld.stop());
    const redis = await startTestRedis({ port: redisPort!, required: true, warn: console.warn });
    cleanups.push(() => redis.stop());
    await applyMigrations(sqld.url);
    // The bridge in a process of its own (the bench's script): loading ioredis in a second global
    // setup of the same vitest run fails ("Cannot redefine property: default").
    const bridge = startProcess(
      "bridge",
      join(BIN, "node"),
      [join(ROOT, "bench/lib/bridge-process.ts"), redis.url, String(bridgePort)],
      { env: { ...OFFLINE_ENV, BRIDGE_TOKEN: secrets.SERVICE_TOKEN! } },
    );
    cleanups.push(() => bridge.stop());
    const upstashUrl = `http://127.0.0.1:${bridgePort}`;
    await waitFor("upstash bridge", () => httpOk(upstashUrl), { proc: bridge, timeoutMs: 15_000 });

    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const partyUrl = `http://127.0.0.1:${partyPort}`;
    const party = restartable(() =>
      startPartykit({
        port: partyPort!,
        persistDir: join(dir, "partykit"),
        vars: {
          API_URL: workerUrl,
          JWT_ISSUER: workerUrl,
          JWT_PUBLIC_JWKS: publicJwks(secrets.JWT_PRIVATE_KEYS!),
          SERVICE_TOKEN: secrets.SERVICE_TOKEN!,
          ENVIRONMENT: "test",
          PRESENCE_LEASE_SECONDS: String(LEASE_SECONDS),
          MAX_UNACKED_MESSAGES: String(MAX_UNACKED),
          // The tests' senders post in bursts; the flood guard has its own tests.
          MAX_FRAMES_PER_SECOND: "1000",
        },
      }),
    );
    cleanups.push(() => party.stop());
    const worker = await startWranglerDev({
      port: workerPort!,
      inspectorPort,
      stateDir: join(dir, "wrangler"),
      envFile: join(dir, "worker.env"),
      vars: {
        ...testWorkerBindings({
          sqldUrl: sqld.url,
          upstashUrl,
          upstashToken: secrets.SERVICE_TOKEN!,
          partyUrl,
          workerUrl,
        }),
        PASSWORD_ITERATIONS: "1000",
        AUTH_RATE_LIMIT: "100000",
        API_RATE_LIMIT: "100000",
        REDIS_TIMEOUT_MS: "2000",
        ...secrets,
      },
    });
    cleanups.push(() => worker.stop());
    await party.first;
    const control = await startControlServer({ partykit: party }, {});
    cleanups.push(() => new Promise((r) => control.server.close(r)));
    project.provide("nodeStack", {
      workerUrl,
      partyUrl,
      controlUrl: control.url,
      sqldUrl: sqld.url,
      leaseSeconds: LEASE_SECONDS,
    });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
