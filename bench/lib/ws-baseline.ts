/**
 * The realtime ceiling: a plain broadcast server written with the `ws` package — no auth, no
 * persistence, no ordering. It speaks the smallest subset of Petrel's frame protocol the load
 * needs: a client sends `{type:"message", clientId, body}`, the sender gets `{type:"ack", clientId}`
 * and every connected client (the sender included, as in Petrel) gets `{type:"message", message:
 * {clientId, body}}`. It runs in its own process (like partykit's workerd), so its event loop does
 * not share a core with the 100 clients of the bench process.
 *
 *   node bench/lib/ws-baseline.ts <port>        (started and stopped by startWsBaseline)
 *
 * The client side uses partysocket's ReconnectingWebSocket, the socket PartySocket itself wraps,
 * so client-side costs match the Petrel clients as closely as possible.
 */
import { join } from "node:path";
import ReconnectingWebSocket from "partysocket/ws";
import { WebSocketServer } from "ws";
import { freePort, httpOk, type Proc, startProcess, waitFor } from "../../scripts/lib/procs.ts";
import { OFFLINE_ENV } from "../../scripts/lib/stack.ts";
import type { Connect, Counters, LoadClient } from "./realtime.ts";

export interface WsBaseline {
  url: string;
  proc: Proc;
  stop(): Promise<void>;
}

/** Spawn this file as a child process on a free loopback port and wait until it answers. */
export async function startWsBaseline(): Promise<WsBaseline> {
  const port = await freePort();
  const proc = startProcess(
    "ws-baseline",
    process.execPath,
    [join(import.meta.dirname, "ws-baseline.ts"), String(port)],
    {
      env: OFFLINE_ENV,
    },
  );
  // A plain GET gets ws's 426 Upgrade Required: enough to know it listens.
  await waitFor("ws baseline", () => httpOk(`http://127.0.0.1:${port}/`), { proc, timeoutMs: 15_000 });
  return { url: `ws://127.0.0.1:${port}/`, proc, stop: proc.stop };
}

/** Connector for the load driver: resolves once the socket is open (there is no sync step). */
export function wsConnector(url: string, counters: Counters): Connect {
  return (_index, onBody) =>
    new Promise<LoadClient>((resolve, reject) => {
      const pending = new Map<string, () => void>();
      const socket = new ReconnectingWebSocket(url, [], {
        maxRetries: Number.POSITIVE_INFINITY,
        minReconnectionDelay: 200,
        maxReconnectionDelay: 5000,
      });
      let opened = false;
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error("ws baseline: socket did not open in 30 s"));
      }, 30_000);
      socket.addEventListener("open", () => {
        if (opened) return;
        opened = true;
        clearTimeout(timer);
        resolve({
          send(body) {
            const clientId = crypto.randomUUID();
            return new Promise<void>((done) => {
              pending.set(clientId, done);
              socket.send(JSON.stringify({ type: "message", clientId, body }));
            });
          },
          close: () => socket.close(),
        });
      });
      socket.addEventListener("close", () => {
        if (opened) counters.reconnects++;
      });
      socket.addEventListener("message", (e) => {
        const frame = JSON.parse(String(e.data)) as
          | { type: "ack"; clientId: string }
          | { type: "message"; message: { clientId: string; body: string } };
        if (frame.type === "message") onBody(frame.message.body);
        else if (frame.type === "ack") {
          pending.get(frame.clientId)?.();
          pending.delete(frame.clientId);
        }
      });
    });
}

/** The server itself, when this file is the entry point. */
function serve(port: number) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    ws.on("message", (data) => {
      let frame: { type?: unknown; clientId?: unknown; body?: unknown };
      try {
        frame = JSON.parse(String(data)) as typeof frame;
      } catch {
        return;
      }
      if (frame.type !== "message" || typeof frame.clientId !== "string") return;
      ws.send(JSON.stringify({ type: "ack", clientId: frame.clientId }));
      const out = JSON.stringify({
        type: "message",
        message: { clientId: frame.clientId, body: frame.body },
      });
      for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(out);
    });
  });
  wss.on("listening", () => console.log(`ws baseline listening on 127.0.0.1:${port}`));
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      for (const client of wss.clients) client.terminate();
      wss.close(() => process.exit(0));
    });
  }
}

if (import.meta.main) {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    console.error("usage: node bench/lib/ws-baseline.ts <port>");
    process.exit(2);
  }
  serve(port);
}
