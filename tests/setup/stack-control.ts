/**
 * What the test stacks (tests/setup/global-setup.ts, tests/setup/node-stack.ts) share: services
 * that a loopback control server stops and starts for tests (workerd and test workers cannot
 * signal processes), leases on them, and the Worker's common bindings.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { Service } from "../../scripts/lib/stack.ts";

/** A service that the control server can stop and start again on the same port and data. */
export interface Restartable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function restartable(
  startFn: () => Promise<Service>,
): Restartable & { first: Promise<Service>; pid(): number | undefined } {
  let current: Service | undefined;
  const start = async () => {
    if (!current || current.proc.child.exitCode !== null || current.proc.child.signalCode !== null) {
      current = await startFn();
    }
  };
  const first = startFn().then((s) => {
    current = s;
    return s;
  });
  return {
    first,
    pid: () => current?.proc.child.pid,
    start,
    stop: async () => {
      await current?.stop();
    },
  };
}

/**
 * One holder at a time per fault service: a test that stops a shared fault sqld/Redis must not
 * overlap with another file's test that uses it (vitest runs files in parallel). A lease that
 * is never released (a crashed test) expires after LEASE_MS.
 */
const LEASE_MS = 120_000;
function leases() {
  const tails = new Map<string, Promise<void>>();
  const holders = new Map<string, { id: string; release(): void }>();
  return {
    async acquire(name: string): Promise<string> {
      const prev = tails.get(name) ?? Promise.resolve();
      let release!: () => void;
      const done = new Promise<void>((r) => {
        release = r;
      });
      tails.set(
        name,
        prev.then(() => done),
      );
      await prev;
      const id = crypto.randomUUID();
      const timer = setTimeout(release, LEASE_MS);
      holders.set(name, {
        id,
        release: () => {
          clearTimeout(timer);
          release();
        },
      });
      return id;
    },
    release(name: string, id: string): boolean {
      const h = holders.get(name);
      if (h?.id !== id) return false;
      holders.delete(name);
      h.release();
      return true;
    },
  };
}

/** CPU use of a process over `ms`, in percent of one core, from /proc (Linux). */
async function cpuPercent(pid: number, ms: number): Promise<number> {
  const ticks = () => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (USER_HZ = 100)
  };
  const before = ticks();
  await new Promise((r) => setTimeout(r, ms));
  return ((ticks() - before) / 100 / (ms / 1000)) * 100;
}

/** The request body, as text. */
function readBody(req: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Loopback control server for tests in workerd, which cannot touch processes:
 * POST /services/<fault>/(stop|start|lease|release?lease=<id>), GET /services/<name>/cpu?ms=.
 * POST /openapi/validate validates the posted OpenAPI document in Node (the validator compiles
 * code, which workerd forbids), so a workers test can validate exactly what the Worker served.
 */
export function startControlServer(
  services: Record<string, Restartable>,
  pids: Record<string, () => number | undefined>,
): Promise<{ url: string; server: Server }> {
  const lease = leases();
  const server = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    if (req.method === "POST" && url.pathname === "/openapi/validate") {
      try {
        const result = await new Validator().validate(JSON.parse(await readBody(req)));
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ valid: result.valid, errors: result.errors ?? [] }));
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
      return;
    }
    const m = /^\/services\/([a-z-]+)\/(stop|start|lease|release|cpu)$/.exec(url.pathname);
    const [name, action] = m ? [m[1]!, m[2]!] : ["", ""];
    try {
      if (req.method === "GET" && action === "cpu" && pids[name]?.()) {
        const ms = Math.min(Number(url.searchParams.get("ms") ?? 1000) || 1000, 10_000);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ percent: await cpuPercent(pids[name]()!, ms) }));
        return;
      }
      const svc = services[name];
      if (req.method !== "POST" || !svc) {
        res.writeHead(404).end();
        return;
      }
      if (action === "lease") {
        res.writeHead(200, { "content-type": "text/plain" }).end(await lease.acquire(name));
      } else if (action === "release") {
        res.writeHead(lease.release(name, url.searchParams.get("lease") ?? "") ? 204 : 409).end();
      } else {
        await (action === "stop" ? svc.stop() : svc.start());
        res.writeHead(204).end();
      }
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`, server });
    }),
  );
}

/** The Worker's bindings every test stack shares: where its services are, and that it is a test. */
export function testWorkerBindings(at: {
  sqldUrl: string;
  upstashUrl: string;
  upstashToken: string;
  partyUrl: string;
  workerUrl: string;
}): Record<string, string> {
  return {
    ENVIRONMENT: "test",
    LOG_LEVEL: "warn",
    LIBSQL_URL: at.sqldUrl,
    UPSTASH_REDIS_REST_URL: at.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: at.upstashToken,
    PARTYKIT_URL: at.partyUrl,
    PUBLIC_API_URL: at.workerUrl,
    APP_URL: `${at.workerUrl}/app`,
    JWT_ISSUER: at.workerUrl,
    JWT_AUDIENCE: "petrel",
    CORS_ORIGINS: "http://app.test",
  };
}
