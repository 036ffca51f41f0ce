/**
 * Starts every service the tests need, once per run, on free loopback ports: sqld (with
 * migrations), redis-server + the Upstash REST bridge, a Sentry envelope sink, the Worker in
 * `wrangler dev` (for partykit's callbacks and static assets), and `partykit dev`. A second
 * sqld and Redis are reserved for fault injection, driven through a loopback control server,
 * so stopping them never disturbs tests running in parallel; so is a second `partykit dev`. Everything is stopped after.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { startOidcServer } from "../../scripts/lib/oidc-server.ts";
import { freePort, installExitHooks, killAllChildren } from "../../scripts/lib/procs.ts";
import { startS3Server } from "../../scripts/lib/s3-server.ts";
import { generateLocalSecrets, publicJwks } from "../../scripts/lib/secrets.ts";
import { startSentrySink } from "../../scripts/lib/sentry-sink.ts";
import {
  startPartykit,
  startRedis,
  startSqld,
  startTestRedis,
  startWranglerDev,
  testRedisCommand,
} from "../../scripts/lib/stack.ts";
import { startUpstashBridge, type UpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { restartable, startControlServer, testWorkerBindings } from "./stack-control.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

declare module "vitest" {
  export interface ProvidedContext {
    bindings: Record<string, string>;
    sqldUrl: string;
    upstashUrl: string;
    upstashToken: string;
    redisUrl: string;
    sentryUrl: string;
    workerUrl: string;
    partyUrl: string;
    controlUrl: string;
    faultSqldUrl: string;
    faultUpstashUrl: string;
    /** A second `partykit dev` for fault tests (stop/start under withFault) and hibernation tests. */
    faultPartyUrl: string;
    hungUrl: string;
    /** OAuth: the local OpenID Connect provider (scripts/lib/oidc-server.ts), configured as provider "oidc". */
    oidcUrl: string;
    /** Files: a local S3-compatible server (scripts/lib/s3-server.ts, credentials S3RVER/S3RVER). */
    s3Url: string;
    s3Bucket: string;
    /** Webhooks: a real HTTP receiver that records every request (tests/setup/webhook-receiver.ts). */
    webhookReceiverUrl: string;
  }
}

/** Accepts TCP connections and never answers: a hung dependency. */
async function startHungServer(): Promise<{ url: string; close(): void }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

export default async function setup(project: TestProject) {
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), "petrel-test-"));
  const cleanups: Array<() => unknown> = [];
  const echo = process.env.PETREL_TEST_ECHO === "1";
  try {
    const secrets = await generateLocalSecrets();
    const [sqldPort, faultSqldPort, redisPort, faultRedisPort, partyPort, workerPort, faultPartyPort] =
      await Promise.all(Array.from({ length: 7 }, () => freePort()));

    const sqld = await startSqld({ dataDir: join(dir, "sqld"), port: sqldPort!, echo });
    cleanups.push(() => sqld.stop());
    const faultSqld = restartable(() =>
      startSqld({ dataDir: join(dir, "fault-sqld"), port: faultSqldPort! }),
    );
    cleanups.push(() => faultSqld.stop());
    // Never without a real Redis: the suite tests the cache and rate limits against it.
    const redis = await startTestRedis({ port: redisPort!, echo, required: true, warn: console.warn });
    cleanups.push(() => redis.stop());
    const faultRedis = restartable(() => startRedis({ port: faultRedisPort!, command: testRedisCommand() }));
    cleanups.push(() => faultRedis.stop());
    await Promise.all([faultSqld.first, faultRedis.first]);
    await Promise.all([applyMigrations(sqld.url), applyMigrations((await faultSqld.first).url)]);

    const upstashToken = secrets.SERVICE_TOKEN!;
    const bridges: UpstashBridge[] = await Promise.all([
      startUpstashBridge({ redisUrl: redis.url, token: upstashToken }),
      startUpstashBridge({ redisUrl: (await faultRedis.first).url, token: upstashToken }),
    ]);
    cleanups.push(...bridges.map((b) => () => b.close()));
    const [bridge, faultBridge] = bridges as [UpstashBridge, UpstashBridge];

    const sentry = await startSentrySink();
    cleanups.push(() => sentry.close());
    const hung = await startHungServer();
    cleanups.push(() => hung.close());
    // OAuth: a real local OIDC provider, configured below as provider "oidc".
    const oidc = await startOidcServer();
    cleanups.push(() => oidc.close());
    // Files: a real S3-compatible server that checks SigV4 signatures and expiry.
    const s3 = await startS3Server({ directory: join(dir, "s3"), bucket: "petrel-files" });
    cleanups.push(() => s3.close());
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());

    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const partyUrl = `http://127.0.0.1:${partyPort}`;
    const bindings: Record<string, string> = {
      ...testWorkerBindings({ sqldUrl: sqld.url, upstashUrl: bridge.url, upstashToken, partyUrl, workerUrl }),
      SENTRY_DSN: sentry.dsn,
      SENTRY_RELEASE: "petrel@test",
      // Cheap hashing keeps the suite fast; one test runs the production parameters end to end.
      PASSWORD_ITERATIONS: "1000",
      // Tests give each simulated client its own IP; the rate-limit tests set low limits themselves.
      AUTH_RATE_LIMIT: "1000",
      API_RATE_LIMIT: "100000",
      // A loaded 2-core machine (workerd, partykit, sqld and vitest at once) can take longer
      // than production's 300 ms to reach Redis; auth fails closed, so a slow moment would be
      // a 503. Tests of the timeout itself set their own (rate-limit-store, cache, faults).
      REDIS_TIMEOUT_MS: "2000",
      // X-Petrel-Cost on every response: tests count real database round trips per request.
      COST_HEADERS: "on",
      // Webhook retries 1 s, 2 s, 4 s…: the retry tests see the third attempt within seconds.
      WEBHOOK_RETRY_BASE_SECONDS: "1",
      OAUTH_PROVIDERS: JSON.stringify([
        {
          id: "oidc",
          type: "oidc",
          issuer: oidc.issuer,
          clientId: "petrel-test",
          clientSecret: "oidc-test-secret",
        },
      ]),
      ...secrets,
    };

    const partyVars = {
      API_URL: workerUrl,
      JWT_ISSUER: workerUrl,
      JWT_PUBLIC_JWKS: publicJwks(secrets.JWT_PRIVATE_KEYS!),
      SERVICE_TOKEN: secrets.SERVICE_TOKEN!,
      ENVIRONMENT: "test",
      SENTRY_DSN: sentry.dsn, // party errors reach the same sink as the API's
      // The periodic access re-check (production: 30 s), short enough for a test to wait for
      // and long enough that the tests of the API's pushes finish before it runs.
      ACCESS_RECHECK_SECONDS: "10",
    };
    // The fault party: stopped and started by fault tests, and quiet enough to be evicted. workerd
    // evicts a hibernatable room after ~10 s without events, so no alarm may come sooner; a held
    // message waits 5 s, so a test can fill the gap after a rebuild without racing the alarm.
    const faultParty = restartable(() =>
      startPartykit({
        port: faultPartyPort!,
        persistDir: join(dir, "fault-partykit"),
        vars: {
          ...partyVars,
          ACCESS_RECHECK_SECONDS: "120",
          SESSION_CHECK_SECONDS: "120",
          PRESENCE_LEASE_SECONDS: "120",
          SEQ_HOLD_MS: "5000",
        },
        echo,
      }),
    );
    cleanups.push(() => faultParty.stop());
    const [party, worker] = await Promise.all([
      startPartykit({ port: partyPort!, persistDir: join(dir, "partykit"), vars: partyVars, echo }),
      startWranglerDev({
        port: workerPort!,
        vars: bindings,
        stateDir: join(dir, "wrangler"),
        envFile: join(dir, "worker.env"),
        echo,
      }),
    ]);
    cleanups.push(
      () => party.stop(),
      () => worker.stop(),
    );

    const control = await startControlServer(
      { "fault-sqld": faultSqld, "fault-redis": faultRedis, "fault-partykit": faultParty },
      { sqld: () => sqld.proc.child.pid, "fault-sqld": () => faultSqld.pid() },
    );
    cleanups.push(() => new Promise((r) => control.server.close(r)));

    project.provide("bindings", bindings);
    project.provide("sqldUrl", sqld.url);
    project.provide("upstashUrl", bridge.url);
    project.provide("upstashToken", upstashToken);
    project.provide("redisUrl", redis.url);
    project.provide("sentryUrl", sentry.url);
    project.provide("workerUrl", workerUrl);
    project.provide("partyUrl", partyUrl);
    project.provide("controlUrl", control.url);
    project.provide("faultSqldUrl", (await faultSqld.first).url);
    project.provide("faultUpstashUrl", faultBridge.url);
    project.provide("faultPartyUrl", (await faultParty.first).url);
    project.provide("hungUrl", hung.url);
    project.provide("oidcUrl", oidc.issuer);
    project.provide("s3Url", s3.url);
    project.provide("s3Bucket", s3.bucket);
    project.provide("webhookReceiverUrl", receiver.url);
  } catch (err) {
    await teardown();
    throw err;
  }

  async function teardown() {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
  return teardown;
}
