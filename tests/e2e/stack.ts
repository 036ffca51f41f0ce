/**
 * The real local stack for the browser tests, on free loopback ports: sqld (migrations applied),
 * redis-server + the Upstash REST bridge, a local OpenID Connect provider, partykit dev and the
 * Worker in wrangler dev serving the freshly built client from its static assets.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAssets } from "../../scripts/build-assets.ts";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { startOidcServer } from "../../scripts/lib/oidc-server.ts";
import { freePort, hasCommand, installExitHooks, killAllChildren } from "../../scripts/lib/procs.ts";
import { generateLocalSecrets, publicJwks } from "../../scripts/lib/secrets.ts";
import { startPartykit, startRedis, startSqld, startWranglerDev } from "../../scripts/lib/stack.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { seed } from "../../scripts/seed.ts";

export interface Stack {
  url: string;
  partyUrl: string;
  oidcUrl: string;
  stop(): Promise<void>;
}

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
    const [sqldPort, redisPort, partyPort, workerPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const sqld = await startSqld({ dataDir: join(dir, "sqld"), port: sqldPort!, echo });
    cleanups.push(() => sqld.stop());
    await applyMigrations(sqld.url);
    // The demo data of `npm run dev` (a user of every org role): the role specs sign in as them.
    await seed(sqld.url, undefined, 1000);

    let redisVars: Record<string, string> = {};
    if (hasCommand("redis-server")) {
      const redis = await startRedis({ port: redisPort!, echo });
      cleanups.push(() => redis.stop());
      const bridge = await startUpstashBridge({ redisUrl: redis.url, token: secrets.SERVICE_TOKEN! });
      cleanups.push(() => bridge.close());
      redisVars = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token };
    }
    const oidc = await startOidcServer();
    cleanups.push(() => oidc.close());

    const url = `http://127.0.0.1:${workerPort}`;
    const partyUrl = `http://127.0.0.1:${partyPort}`;
    const [party, worker] = await Promise.all([
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
      }),
      startWranglerDev({
        port: workerPort!,
        stateDir: join(dir, "wrangler"),
        envFile: join(dir, "worker.env"),
        echo,
        vars: {
          ENVIRONMENT: "test",
          LOG_LEVEL: "warn",
          LIBSQL_URL: sqld.url,
          PARTYKIT_URL: partyUrl,
          PUBLIC_API_URL: url,
          APP_URL: `${url}/app`,
          JWT_ISSUER: url,
          JWT_AUDIENCE: "petrel",
          CORS_ORIGINS: url,
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
        },
      }),
    ]);
    cleanups.push(
      () => party.stop(),
      () => worker.stop(),
    );
    log(
      `stack ready in ${Date.now() - t} ms: ${url}${redisVars.UPSTASH_REDIS_REST_URL ? "" : " (no redis-server: memory store)"}`,
    );
    return { url, partyUrl, oidcUrl: oidc.issuer, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
