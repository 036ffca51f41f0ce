// Hand-written because no npm package serves the Upstash Redis REST protocol locally (Upstash's SRH is a Docker image).
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Redis from "ioredis";

// ioredis' CommonJS entry is the Redis class with ReplyError attached to it. Named imports
// (`import { Redis } from "ioredis"`) come back undefined under vitest's module runner.
const ReplyError = (Redis as unknown as { ReplyError: abstract new (...args: never[]) => Error }).ReplyError;

export interface UpstashBridge {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

type Arg = string | Buffer;
type Command = { name: string; args: Arg[] };
type Reply = string | number | null | Reply[];

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const READY_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;

// Commands that would change the state of the one shared connection for every later request.
const DENIED = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "QUIT",
  "RESET",
  "SYNC",
  "PSYNC",
  "HELLO",
  "CLIENT",
]);

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR a command must be a non-empty JSON array");
  }
  const [name, ...rest] = value;
  if (typeof name !== "string" || name === "") {
    throw new HttpError(400, "ERR the command name must be a non-empty string");
  }
  const args = rest.map((arg): string => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, "ERR command arguments must be strings, numbers or booleans");
  });
  return checked({ name: name.toUpperCase(), args });
}

function checked(command: Command): Command {
  if (DENIED.has(command.name)) {
    throw new HttpError(400, `ERR command not supported by the local Upstash bridge: ${command.name}`);
  }
  return command;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `ERR invalid JSON body: ${(error as Error).message}`);
  }
}

function encodeReply(value: unknown, base64: boolean): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString(base64 ? "base64" : "utf8");
  }
  if (typeof value === "string") return base64 ? Buffer.from(value).toString("base64") : value;
  if (Array.isArray(value)) return value.map((item) => encodeReply(item, base64));
  if (value instanceof Error) throw value;
  return String(value);
}

function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new HttpError(413, `ERR request body larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.pause();
        reject(new HttpError(413, `ERR request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startUpstashBridge(opts: {
  redisUrl: string;
  token: string;
  port?: number;
  host?: string;
}): Promise<UpstashBridge> {
  const expectedToken = digest(`Bearer ${opts.token}`);
  const redis = new Redis(opts.redisUrl, {
    lazyConnect: true,
    // Fail fast while Redis is down instead of queueing: commands sent while disconnected are
    // rejected at once, and commands in flight when the connection drops are rejected on close.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    // Keep reconnecting forever, quickly, so a restarted redis-server is picked up within ~0.2 s.
    retryStrategy: (times) => Math.min(times * 50, 200),
  });
  // Without a listener ioredis prints every connection error; the HTTP replies report them instead.
  redis.on("error", () => {});

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Upstash bridge: Redis at ${opts.redisUrl} not ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
    // With lazyConnect a failed first attempt rejects here, but retryStrategy keeps trying.
    redis.connect().catch(() => {});
  }).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });

  async function runOne(command: Command): Promise<unknown> {
    return redis.callBuffer(command.name, command.args);
  }

  async function runMany(
    commands: Command[],
    atomic: boolean,
  ): Promise<({ result: unknown } | { error: string })[]> {
    const pipeline = atomic ? redis.multi() : redis.pipeline();
    for (const command of commands) pipeline.callBuffer(command.name, command.args);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      // EXECABORT: a command failed while being queued; name the errors that caused it.
      const previous = (error as { previousErrors?: unknown }).previousErrors;
      if (isReplyError(error) && Array.isArray(previous) && previous.length > 0) {
        const causes = previous.map((cause) => (cause instanceof Error ? cause.message : String(cause)));
        throw new HttpError(400, `${error.message} (${causes.join("; ")})`);
      }
      throw error;
    }
    if (!results) throw new Error("ERR transaction aborted");
    return results.map(([error, result]) => {
      if (error) {
        // A connection error fails the whole request (503); a Redis error is per command.
        if (!isReplyError(error)) throw error;
        return { error: error.message };
      }
      return { result };
    });
  }

  async function handle(req: IncomingMessage, base64: boolean): Promise<unknown> {
    const { pathname } = new URL(req.url ?? "/", "http://bridge");
    const body = await readBody(req);
    if (pathname === "/" || pathname === "/pipeline" || pathname === "/multi-exec") {
      if (req.method !== "POST") throw new HttpError(405, "ERR method not allowed, use POST");
      const parsed = parseJson(body);
      if (pathname === "/") {
        return { result: encodeReply(await runOne(parseCommand(parsed)), base64) };
      }
      if (!Array.isArray(parsed) || parsed.length === 0) {
        throw new HttpError(400, "ERR a pipeline must be a non-empty JSON array of commands");
      }
      const replies = await runMany(parsed.map(parseCommand), pathname === "/multi-exec");
      return replies.map((reply) =>
        "error" in reply ? reply : { result: encodeReply(reply.result, base64) },
      );
    }
    // Path form: /set/key/value, URL-decoded segments; a POST body becomes the last argument.
    let segments: string[];
    try {
      segments = pathname.slice(1).split("/").map(decodeURIComponent);
    } catch {
      throw new HttpError(400, "ERR invalid URL encoding in the path");
    }
    const [name = "", ...args] = segments;
    const pathArgs: Arg[] = args;
    if (req.method === "POST" && body.length > 0) pathArgs.push(body);
    const command = checked({ name: name.toUpperCase(), args: pathArgs });
    return { result: encodeReply(await runOne(command), base64) };
  }

  function send(res: ServerResponse, status: number, payload: unknown, syncToken: string | undefined) {
    const text = JSON.stringify(payload);
    const headers: Record<string, string | number> = {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
    };
    if (syncToken !== undefined) headers["upstash-sync-token"] = syncToken;
    if (status === 413) headers.Connection = "close";
    res.writeHead(status, headers).end(text);
  }

  const server = createServer((req, res) => {
    const rawSync = req.headers["upstash-sync-token"];
    const syncToken = Array.isArray(rawSync) ? rawSync[0] : rawSync;
    const auth = req.headers.authorization ?? "";
    if (!timingSafeEqual(digest(auth), expectedToken)) {
      req.resume();
      send(res, 401, { error: "Unauthorized" }, syncToken);
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    handle(req, base64).then(
      (payload) => send(res, 200, payload, syncToken),
      (error: unknown) => {
        if (error instanceof HttpError) {
          send(res, error.status, { error: error.message }, syncToken);
        } else if (isReplyError(error)) {
          send(res, 400, { error: error.message }, syncToken);
        } else {
          // Redis unreachable, connection dropped mid-command or command timed out.
          const message = error instanceof Error ? error.message : String(error);
          send(res, 503, { error: `ERR Redis unavailable: ${message}` }, syncToken);
        }
      },
    );
  });

  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
