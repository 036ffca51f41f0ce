// A local stand-in for Sentry's ingestion endpoint (hand-written: tests need to read what
// toucan-js really sends). It accepts envelopes at POST /api/<project>/envelope/ and lists
// them at GET /envelopes (JSON), optionally filtered by ?contains=<text>.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface Envelope {
  receivedAt: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw newline-delimited envelope body. */
  raw: string;
  /** Each line parsed as JSON where it is JSON. */
  items: unknown[];
}

export interface SentrySink {
  dsn: string;
  url: string;
  envelopes: Envelope[];
  close(): Promise<void>;
}

/** The request body, as text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startSentrySink(port = 0): Promise<SentrySink> {
  const envelopes: Envelope[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sink");
    if (req.method === "POST" && /^\/api\/[^/]+\/envelope\/?$/.test(url.pathname)) {
      const raw = await readBody(req);
      const items = raw
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          try {
            return JSON.parse(line) as unknown;
          } catch {
            return line;
          }
        });
      envelopes.push({
        receivedAt: new Date().toISOString(),
        path: url.pathname,
        headers: req.headers,
        raw,
        items,
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      return;
    }
    if (req.method === "GET" && url.pathname === "/envelopes") {
      const needle = url.searchParams.get("contains");
      const list = needle ? envelopes.filter((e) => e.raw.includes(needle)) : envelopes;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(list));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actual}`;
  return {
    dsn: `http://publickey@127.0.0.1:${actual}/1`,
    url,
    envelopes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
