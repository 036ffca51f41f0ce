/**
 * The real local stack for the browser tests, on free loopback ports: sqld (migrations applied,
 * the demo data of scripts/seed.ts), redis-server + the Upstash REST bridge, a local OpenID
 * Connect provider, partykit dev and the Worker in wrangler dev serving the freshly built client
 * from its static assets. A second Worker on the same services issues access tokens that expire
 * after 30 s, for the session-expiry spec. A loopback control server (`controlUrl`, see
 * tests/e2e/control.ts) stops, freezes and restarts that partykit dev for the specs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAssets } from "../../scripts/build-assets.ts";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { startOidcServer } from "../../scripts/lib/oidc-server.ts";
import { freePort, installExitHooks, killAllChildren } from "../../scripts/lib/procs.ts";
import { generateLocalSecrets, publicJwks } from "../../scripts/lib/secrets.ts";
import { startPartykit, startSqld, startTestRedis, startWranglerDev } from "../../scripts/lib/stack.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { seed } from "../../scripts/seed.ts";
import { startControl } from "./control.ts";

export interface Stack {
  url: string;
  /** The same app, but its access tokens live 30 s with no clock leeway (SHORT_SESSION_VARS). */
  shortSessionUrl: string;
  partyUrl: string;
  oidcUrl: string;
  /** POST /party/{stop,start,freeze,thaw} (tests/e2e/control.ts). */
  controlUrl: string;
  stop(): Promise<void>;
}

/** Access tokens that expire 30 s after sign-in (the configured minimum), to the second. */
export const SHORT_SESSION_VARS = { ACCESS_TOKEN_TTL: "30", CLOCK_SKEW_SECONDS: "0" };

export async function startStack(log: (msg: string) => void): Promise<Stack> {
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), "petrel-e2e-"));
  // Also on Ctrl-C (installExitHooks exits the process after killing the children).
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const cleanups: Array<() => unknown> = [];
  const echo = process.env.PETREL_TEST_ECHO === "1";
  const stop = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let t = Date.now();
    buildAssets();
    log(`client built in ${Date.now() - t} ms`);
    t = Date.now();
    const secrets = await generateLocalSecrets();
    const [sqldPort, redisPort, partyPort, workerPort, shortPort, inspector, shortInspector] =
      await Promise.all(Array.from({ length: 7 }, () => freePort()));
    const sqld = await startSqld({ dataDir: join(dir, "sqld"), port: sqldPort!, echo });
    cleanups.push(() => sqld.stop());
    await applyMigrations(sqld.url);
    // The demo data of `npm run dev` (a user of every org role): the role specs sign in as them.
    await seed(sqld.url, undefined, 1000);

    let redisVars: Record<string, string> = {};
    // In CI a missing redis-server fails the run; locally the stack warns and degrades.
    const redis = await startTestRedis({ port: redisPort!, echo, warn: log });
    if (redis) {
      cleanups.push(() => redis.stop());
      const bridge = await startUpstashBridge({ redisUrl: redis.url, token: secrets.SERVICE_TOKEN! });
      cleanups.push(() => bridge.close());
      redisVars = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token };
    }
    const oidc = await startOidcServer();
    cleanups.push(() => oidc.close());

    const url = `http://127.0.0.1:${workerPort}`;
    const shortSessionUrl = `http://127.0.0.1:${shortPort}`;
    const partyUrl = `http://127.0.0.1:${partyPort}`;
    const vars = {
      ENVIRONMENT: "test",
      LOG_LEVEL: "warn",
      LIBSQL_URL: sqld.url,
      PARTYKIT_URL: partyUrl,
      // Both Workers issue and accept the same tokens (one issuer, one key set), as partykit does.
      JWT_ISSUER: url,
      JWT_AUDIENCE: "petrel",
      // Cheap hashing and generous limits: the browser tests are not about either.
      PASSWORD_ITERATIONS: "1000",
      AUTH_RATE_LIMIT: "1000",
      API_RATE_LIMIT: "100000",
      OAUTH_PROVIDERS: JSON.stringify([
        {
          id: "oidc",
          type: "oidc",
          issuer: oidc.issuer,
          clientId: "petrel-e2e",
          clientSecret: "oidc-e2e-secret",
        },
      ]),
      ...secrets,
      ...redisVars,
    };
    const origin = (base: string) => ({ PUBLIC_API_URL: base, APP_URL: `${base}/app`, CORS_ORIGINS: base });
    const startParty = () =>
      startPartykit({
        port: partyPort!,
        persistDir: join(dir, "partykit"),
        vars: {
          API_URL: url,
          JWT_ISSUER: url,
          JWT_PUBLIC_JWKS: publicJwks(secrets.JWT_PRIVATE_KEYS!),
          SERVICE_TOKEN: secrets.SERVICE_TOKEN!,
          ENVIRONMENT: "test",
        },
        echo,
      });
    const [party, worker, shortWorker] = await Promise.all([
      startParty(),
      startWranglerDev({
        port: workerPort!,
        stateDir: join(dir, "wrangler"),
        envFile: join(dir, "worker.env"),
        inspectorPort: inspector,
        echo,
        vars: { ...vars, ...origin(url) },
      }),
      startWranglerDev({
        port: shortPort!,
        stateDir: join(dir, "wrangler-short"),
        envFile: join(dir, "worker-short.env"),
        inspectorPort: shortInspector,
        echo,
        vars: { ...vars, ...origin(shortSessionUrl), ...SHORT_SESSION_VARS },
      }),
    ]);
    const control = await startControl(party, startParty, log);
    cleanups.push(
      () => control.close(),
      () => worker.stop(),
      () => shortWorker.stop(),
    );
    log(
      `stack ready in ${Date.now() - t} ms: ${url}${redis ? "" : " (DEGRADED, no redis-server: memory store)"}`,
    );
    return { url, shortSessionUrl, partyUrl, oidcUrl: oidc.issuer, controlUrl: control.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
