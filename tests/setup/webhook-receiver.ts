/**
 * A real HTTP receiver for webhook tests (Node, started by global-setup.ts; code in workerd
 * cannot listen). Every request to `/hooks/<key>` is recorded exactly as it arrived (method,
 * headers, raw body) and answered by the key's script: a list of statuses used one per request
 * (then 200), where 302 redirects to `/hooks/<key>-redirected`. Tests read the recording at
 * `GET /requests/<key>` and verify it themselves with `standardwebhooks`.
 */
import { createServer, type Server } from "node:http";
import { readBody } from "../../scripts/lib/sentry-sink.ts";

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export async function startWebhookReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const received = new Map<string, Received[]>();
  const scripts = new Map<string, number[]>();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const body = await readBody(req);
    const [, area, key = ""] = url.pathname.split("/");
    if (area === "hooks") {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
      );
      const list = received.get(key) ?? [];
      list.push({ method: req.method ?? "", path: url.pathname, headers, body, at: Date.now() });
      received.set(key, list);
      const status = scripts.get(key)?.shift() ?? 200;
      if (status === 302) res.writeHead(302, { location: `/hooks/${key}-redirected` }).end();
      else
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "x".repeat(5000));
    } else if (area === "script" && req.method === "POST") {
      scripts.set(key, (JSON.parse(body) as { statuses: number[] }).statuses);
      res.writeHead(204).end();
    } else if (area === "requests") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received.get(key) ?? []));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
