/**
 * `npm run check:config [-- --env staging|production]`: checks the Worker's configuration the way
 * the Worker will parse it (src/config.ts), and says in plain words what is missing or malformed.
 * Vars come from wrangler.toml (top level or [env.<name>]); secrets from the process environment
 * (CI: the deploy secrets) or, for local development, from .dev.vars and .data/dev-secrets.env.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { ConfigError, ConfigSchema, parseConfig } from "../src/config.ts";
import { parseEnvFile } from "./lib/secrets.ts";
import { ROOT } from "./lib/stack.ts";

const envIdx = process.argv.indexOf("--env");
const envName = envIdx > 0 ? process.argv[envIdx + 1] : undefined;
const toml = parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as {
  vars?: Record<string, string>;
  env?: Record<string, { vars?: Record<string, string> }>;
};
const vars = envName ? toml.env?.[envName]?.vars : toml.vars;
if (envName && !vars) {
  console.error(`wrangler.toml has no [env.${envName}.vars]`);
  process.exit(1);
}

const local: Record<string, string> = {};
if (!envName) {
  for (const file of [join(ROOT, ".data", "dev-secrets.env"), join(ROOT, ".dev.vars")]) {
    if (existsSync(file)) Object.assign(local, parseEnvFile(readFileSync(file, "utf8")));
  }
}
const fromProcess = Object.fromEntries(
  Object.keys(ConfigSchema.shape)
    .filter((k) => process.env[k] !== undefined)
    .map((k) => [k, process.env[k]!]),
);
const source = { ...vars, ...local, ...fromProcess };

try {
  const config = parseConfig(source);
  console.log(`Configuration for ${envName ?? "local development"} is valid.`);
  console.log(`  environment: ${config.ENVIRONMENT}; database: ${new URL(config.LIBSQL_URL).host}`);
  console.log(
    `  redis: ${config.redisConfigured ? "configured" : "NOT configured (per-isolate memory store, degraded)"}`,
  );
  console.log(
    `  sentry: ${config.SENTRY_DSN ? "on" : "off (no SENTRY_DSN)"}; mail: ${config.MAIL_WEBHOOK_URL ? "webhook" : config.isDev ? "dev outbox" : "NOT configured"}`,
  );
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`Configuration for ${envName ?? "local development"} has problems:`);
  for (const issue of err.issues) console.error(`  - ${issue}`);
  console.error("Set vars in wrangler.toml, secrets with `wrangler secret put NAME` (or .dev.vars locally).");
  process.exit(1);
}
