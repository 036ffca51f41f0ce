import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

/** Child processes started by this Node process; each runs in its own process group. */
const children = new Set<ChildProcess>();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export interface Proc {
  child: ChildProcess;
  /** Last lines of output, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; echo?: boolean } = {},
): Proc {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true, // own process group: stop() kills every grandchild too (workerd under wrangler/partykit)
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const lines: string[] = [];
  const collect = (buf: Buffer) => {
    const text = buf.toString();
    for (const line of text.split("\n")) if (line.trim()) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
    if (opts.echo) process.stdout.write(text.replace(/^(?=.)/gm, `[${name}] `));
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  // A command that cannot be spawned (ENOENT, EACCES): keep the reason for waitFor's message
  // instead of an uncaught 'error' event; the child's exitCode is already set (negative).
  child.on("error", (err) => lines.push(String(err)));
  child.on("exit", () => {
    children.delete(child);
    killGroup(child, "SIGKILL"); // at once, while the id is still ours: grandchildren may outlive the leader
  });
  return {
    child,
    output: () => lines.slice(-40).join("\n"),
    stop: () => stopChild(child),
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    // Its group was killed when it exited (startProcess). Signalling the group id again could hit
    // an unrelated process group: PIDs wrap quickly on small machines and the id may be reused.
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    killGroup(child, "SIGTERM");
  });
}

/** Kill every child group synchronously (process exit, Ctrl-C, uncaught error). */
export function killAllChildren() {
  for (const child of children) killGroup(child, "SIGKILL");
  children.clear();
}

let hooked = false;
export function installExitHooks() {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAllChildren);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; proc?: Proc } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (opts.proc && opts.proc.child.exitCode !== null) {
      throw new Error(`${what} exited with code ${opts.proc.child.exitCode}:\n${opts.proc.output()}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready in time${opts.proc ? `:\n${opts.proc.output()}` : ""}`);
}

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.status < 500;
}

/** Fail with a clear message when a fixed port (dev) is taken. */
export async function freePortOr(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", () =>
      reject(new Error(`${what} is in use. Stop what uses it, or set the matching PETREL_*_PORT variable.`)),
    );
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}
