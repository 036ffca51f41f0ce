/**
 * `npm run dev`: the whole stack on embedded defaults. sqld on a file under .data/, Redis
 * (when redis-server is installed) behind the Upstash REST bridge, partykit dev, and the
 * Worker in wrangler dev with R2 emulated locally. Ctrl-C stops every child process group.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAssets } from "./build-assets.ts";
import { applyMigrations } from "./lib/migrate.ts";
import { freePortOr, hasCommand, installExitHooks, killAllChildren } from "./lib/procs.ts";
import { generateLocalSecrets, parseEnvFile, publicJwks, toEnvFile } from "./lib/secrets.ts";
import { ROOT, startPartykit, startRedis, startSqld, startWranglerDev } from "./lib/stack.ts";
import { startUpstashBridge } from "./lib/upstash-bridge.ts";
import { DEMO_PASSWORD, DEMO_USERS, seed } from "./seed.ts";

const port = (name: string, def: number) => Number(process.env[name] ?? def);
const PORTS = {
  api: port("PETREL_API_PORT", 8787),
  party: port("PETREL_PARTY_PORT", 1999),
  sqld: port("PETREL_SQLD_PORT", 8080),
  redis: port("PETREL_REDIS_PORT", 6390),
  bridge: port("PETREL_REDIS_REST_PORT", 8079),
};
const DATA = join(ROOT, ".data");
const log = (msg: string) => console.log(`[petrel] ${msg}`);

async function main() {
  installExitHooks();
  const started = Date.now();
  for (const [name, p] of Object.entries(PORTS)) await freePortOr(p, `${name} port ${p}`);
  mkdirSync(DATA, { recursive: true });
  buildAssets();

  // Secrets: generated once into .data/ (git-ignored); values in .dev.vars override them.
  const secretsFile = join(DATA, "dev-secrets.env");
  if (!existsSync(secretsFile))
    writeFileSync(secretsFile, toEnvFile(await generateLocalSecrets()), { mode: 0o600 });
  const secrets = parseEnvFile(readFileSync(secretsFile, "utf8"));
  const overrides = existsSync(join(ROOT, ".dev.vars"))
    ? parseEnvFile(readFileSync(join(ROOT, ".dev.vars"), "utf8"))
    : {};

  log("starting sqld…");
  const sqld = await startSqld({ dataDir: join(DATA, "sqld"), port: PORTS.sqld });
  await applyMigrations(sqld.url);
  await seed(sqld.url);
  log(`sqld ready at ${sqld.url}, migrations applied, demo data seeded`);

  let redisVars: Record<string, string> = {};
  let redisLine = "Redis      not running: cache and rate limits use a per-isolate memory store (degraded)";
  if (hasCommand("redis-server")) {
    const redis = await startRedis({ port: PORTS.redis, dataDir: join(DATA, "redis") });
    const bridge = await startUpstashBridge({
      redisUrl: redis.url,
      token: secrets.SERVICE_TOKEN!,
      port: PORTS.bridge,
    });
    redisVars = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token };
    redisLine = `Redis      ${redis.url} (Upstash REST bridge ${bridge.url})`;
  } else {
    log("redis-server not found: caching and rate limiting are DEGRADED to per-isolate memory.");
    log("  install it for the full stack: sudo apt-get install redis-server (or brew install redis)");
  }

  const apiUrl = `http://127.0.0.1:${PORTS.api}`;
  const partyUrl = `http://127.0.0.1:${PORTS.party}`;
  log("starting partykit dev…");
  await startPartykit({
    port: PORTS.party,
    persistDir: join(DATA, "partykit"),
    vars: {
      API_URL: apiUrl,
      JWT_ISSUER: apiUrl,
      JWT_PUBLIC_JWKS: publicJwks(overrides.JWT_PRIVATE_KEYS ?? secrets.JWT_PRIVATE_KEYS!),
      SERVICE_TOKEN: overrides.SERVICE_TOKEN ?? secrets.SERVICE_TOKEN!,
      ENVIRONMENT: "development",
      ...(overrides.SENTRY_DSN ? { SENTRY_DSN: overrides.SENTRY_DSN } : {}), // party errors to Sentry too
    },
  });
  log("starting wrangler dev…");
  await startWranglerDev({
    port: PORTS.api,
    stateDir: join(DATA, "wrangler"),
    envFile: join(DATA, "wrangler.env"),
    vars: {
      ENVIRONMENT: "development",
      LIBSQL_URL: sqld.url,
      PARTYKIT_URL: partyUrl,
      PUBLIC_API_URL: apiUrl,
      JWT_ISSUER: apiUrl,
      ...secrets,
      ...redisVars,
      ...overrides,
    },
    echo: true,
  });

  console.log(`
┌ Petrel is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s) ─────────────────────
│ API        ${apiUrl}        (health: ${apiUrl}/health, readiness: ${apiUrl}/ready)
│ App        ${apiUrl}/app/   (the web client)
│ Docs       ${apiUrl}/docs   (OpenAPI: ${apiUrl}/openapi.json)
│ Party      ${partyUrl}      (parties: chat, notifications)
│ sqld       ${sqld.url}      (database file: .data/sqld/petrel.sqld)
│ ${redisLine}
│ R2         emulated locally in .data/wrangler
│ Secrets    generated in .data/dev-secrets.env (override in .dev.vars)
│ Demo       ${DEMO_USERS.map((u) => `${u.email} (${u.orgRole})`).join(", ")}
│            password: ${DEMO_PASSWORD}   (global admin: ${DEMO_USERS[0]!.email})
│ Mail       ${apiUrl}/dev/outbox
└ Ctrl-C stops everything.
`);
}

main().catch((err) => {
  console.error(`[petrel] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  killAllChildren();
  process.exit(1);
});
