/** The local services the Worker talks to: sqld (+ migrations), redis-server and the Upstash bridge. */
import { join } from "node:path";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { freePort, hasCommand, httpOk, startProcess, waitFor } from "../../scripts/lib/procs.ts";
import { randomSecret } from "../../scripts/lib/secrets.ts";
import { OFFLINE_ENV, startRedis, startSqld } from "../../scripts/lib/stack.ts";

export interface BenchServices {
  libsqlUrl: string;
  redisUrl: string;
  upstashUrl: string;
  upstashToken: string;
  stop(): Promise<void>;
}

export async function startServices(stateDir: string): Promise<BenchServices> {
  if (!hasCommand("redis-server")) {
    throw new Error(
      "redis-server not found: install it (sudo apt-get install redis-server) to run the benchmark",
    );
  }
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const sqld = await startSqld({ dataDir: join(stateDir, "sqld"), port: await freePort() });
    stops.push(sqld.stop);
    await applyMigrations(sqld.url);

    const redis = await startRedis({ port: await freePort() });
    stops.push(redis.stop);

    const bridgePort = await freePort();
    const upstashToken = randomSecret();
    const bridge = startProcess(
      "bridge",
      process.execPath,
      [join(import.meta.dirname, "bridge-process.ts"), redis.url, String(bridgePort)],
      { env: { ...OFFLINE_ENV, BRIDGE_TOKEN: upstashToken } },
    );
    stops.push(bridge.stop);
    const upstashUrl = `http://127.0.0.1:${bridgePort}`;
    // Unauthenticated requests get a 401: enough to know it listens.
    await waitFor("upstash bridge", () => httpOk(upstashUrl), { proc: bridge, timeoutMs: 15_000 });

    return { libsqlUrl: sqld.url, redisUrl: redis.url, upstashUrl, upstashToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
