/**
 * The e2e stack's fault switch for realtime: a loopback HTTP server, started by the runner with the
 * stack (not by a spec), that acts on the real `partykit dev` process.
 *   POST /party/stop    stop it (its sockets close); waits until it has exited
 *   POST /party/start   start it again on the same port; waits until it answers
 *   POST /party/freeze  SIGSTOP its process group: sockets stay open but nothing answers
 *   POST /party/thaw    SIGCONT
 *   GET  /party         {running, frozen}
 * Specs call it through `party()` in lib.ts.
 */
import { createServer } from "node:http";
import type { Service } from "../../scripts/lib/stack.ts";

export interface Control {
  url: string;
  close(): Promise<void>;
}

export async function startControl(
  first: Service,
  start: () => Promise<Service>,
  log: (msg: string) => void,
): Promise<Control> {
  let party: Service | undefined = first;
  let frozen = false;
  const signal = (sig: NodeJS.Signals) => {
    const pid = party?.proc.child.pid;
    if (pid !== undefined) process.kill(-pid, sig);
  };
  const actions: Record<string, () => Promise<void>> = {
    async stop() {
      if (frozen) signal("SIGCONT");
      frozen = false;
      await party?.stop();
      party = undefined;
    },
    async start() {
      party ??= await start();
    },
    async freeze() {
      signal("SIGSTOP");
      frozen = party !== undefined;
    },
    async thaw() {
      signal("SIGCONT");
      frozen = false;
    },
  };
  // One action at a time, in the order they came.
  let queue = Promise.resolve();
  const server = createServer((req, res) => {
    const name = req.url?.match(/^\/party\/(\w+)$/)?.[1];
    const action = name ? actions[name] : undefined;
    if (req.method === "GET" && req.url === "/party") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ running: party !== undefined, frozen }));
    }
    if (req.method !== "POST" || !action) {
      res.writeHead(404).end();
      return;
    }
    const t = Date.now();
    queue = queue.then(action).then(
      () => {
        log(`partykit ${name} in ${Date.now() - t} ms`);
        res.writeHead(204).end();
      },
      (err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (frozen) signal("SIGCONT");
      await party?.stop();
    },
  };
}
