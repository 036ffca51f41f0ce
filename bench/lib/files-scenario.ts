/**
 * The `files` scenario of `npm run bench`: a 10 MiB PNG uploaded and downloaded through the files
 * API (declare → PUT the signed URL → complete → GET downloadUrl) next to a bare, streamed
 * R2-binding put/get in the same Worker (`/bench/r2/:key`, src/index.ts). Sequential, one
 * transfer at a time: it measures the per-transfer cost of the API's checks, not concurrency.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { type FilesReport, type FilesSamples, round1, summarizeFiles } from "./files-report.ts";
import type { BenchContext } from "./scenarios.ts";

export const FILES_SCENARIO = "files";

export interface FilesOptions {
  rounds: number;
  /** One unmeasured round of each kind first (`--warmup` > 0). */
  warmup: boolean;
}

const BYTES = 10 * 1024 * 1024;
const CONTENT_TYPE = "image/png";
const MiB = 1024 * 1024;
const TIMEOUT_MS = 120_000;

/** The PNG signature, then random bytes: what the content check reads (magic bytes) is a real PNG. */
function pngPayload(size: number): Uint8Array {
  const bytes = new Uint8Array(randomBytes(size));
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

async function json<T>(res: Promise<Response>, status: number, what: string): Promise<T> {
  const r = await res;
  if (r.status !== status) throw new Error(`${what} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

/** A registered user's bearer header and an org to upload into. */
async function uploader(ctx: BenchContext) {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    ctx.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const email = `files-${randomUUID()}@bench.test`;
  const { accessToken } = await json<{ accessToken: string }>(
    post("/v1/auth/register", { email, password: "benchmark passphrase 2026", name: "Bench files" }),
    201,
    "register",
  );
  const auth = { authorization: `Bearer ${accessToken}` };
  const org = await json<{ id: string }>(post("/v1/orgs", { name: "Files" }, auth), 201, "POST /v1/orgs");
  return { auth, orgId: org.id, post };
}

/** Times `send` until its answer is read to the last byte; returns MiB/s (of the file) and the body. */
async function timed(send: () => Promise<Response>, status: number, what: string) {
  const t0 = performance.now();
  let res: Response;
  let body: Uint8Array;
  try {
    res = await send();
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new Error(`${what} failed`, { cause: err instanceof Error ? (err.cause ?? err) : err });
  }
  const ms = performance.now() - t0;
  if (res.status !== status) {
    throw new Error(`${what} answered ${res.status}: ${new TextDecoder().decode(body)}`);
  }
  return { mibs: BYTES / MiB / (ms / 1000), body };
}

/**
 * upload.headers without content-length: fetch() derives it from the body (as browsers must) and
 * appends it to one given by hand, "N, N", which undici's dispatcher then refuses.
 */
function uploadHeaders(headers: Record<string, string>): Headers {
  const copy = new Headers(headers);
  const length = copy.get("content-length");
  if (length !== String(BYTES)) throw new Error(`upload.headers: content-length ${length}, not ${BYTES}`);
  copy.delete("content-length");
  return copy;
}

function sameBytes(got: Uint8Array, want: Uint8Array, what: string) {
  if (!Buffer.from(got).equals(want)) {
    throw new Error(`${what}: ${got.byteLength} bytes that differ from the ${want.byteLength} uploaded`);
  }
}

interface Declared {
  file: { id: string };
  upload: { url: string; headers: Record<string, string> };
}

export async function runFilesScenario(
  ctx: BenchContext,
  opts: FilesOptions,
  log: (msg: string) => void,
): Promise<FilesReport> {
  const report: FilesReport = {
    status: "ok",
    bytes: BYTES,
    contentType: CONTENT_TYPE,
    rounds: opts.rounds,
    rows: [],
  };
  log(`files: ${BYTES / MiB} MiB ${CONTENT_TYPE}, ${opts.rounds} rounds through the Worker and direct R2`);
  try {
    const payload = pngPayload(BYTES);
    const { auth, orgId, post } = await uploader(ctx);
    const abs = (url: string, init?: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const declaration = { filename: "bench.png", contentType: CONTENT_TYPE, size: BYTES, orgId };
    const s: FilesSamples = { workerUp: [], workerDown: [], directUp: [], directDown: [], completeMs: [] };

    // Worker and direct alternate within each round, so a noisy moment hits both alike.
    for (let i = opts.warmup ? -1 : 0; i < opts.rounds; i++) {
      const { file, upload } = await json<Declared>(
        post("/v1/files", declaration, auth),
        201,
        "POST /v1/files",
      );
      const put = { method: "PUT", headers: uploadHeaders(upload.headers), body: payload };
      const up = await timed(() => abs(upload.url, put), 204, "PUT upload.url");
      const t0 = performance.now();
      await json(
        ctx.request(`/v1/files/${file.id}/complete`, { method: "POST", headers: auth }),
        200,
        "complete",
      );
      const completeMs = performance.now() - t0;
      const { downloadUrl } = await json<{ downloadUrl: string }>(
        ctx.request(`/v1/files/${file.id}`, { headers: auth }),
        200,
        "GET /v1/files/:id",
      );
      const down = await timed(() => abs(downloadUrl), 200, "GET downloadUrl");
      sameBytes(down.body, payload, "GET downloadUrl");

      const direct = `${ctx.baseUrl}/bench/r2/${randomUUID()}`;
      const dUp = await timed(() => abs(direct, { method: "PUT", body: payload }), 204, "PUT /bench/r2");
      const dDown = await timed(() => abs(direct), 200, "GET /bench/r2");
      sameBytes(dDown.body, payload, "GET /bench/r2");

      if (i < 0) continue; // the warm-up round
      s.workerUp.push(up.mibs);
      s.workerDown.push(down.mibs);
      s.directUp.push(dUp.mibs);
      s.directDown.push(dDown.mibs);
      s.completeMs.push(completeMs);
      log(
        `  round ${i + 1}: worker ↑${round1(up.mibs)} ↓${round1(down.mibs)} MiB/s, ` +
          `direct ↑${round1(dUp.mibs)} ↓${round1(dDown.mibs)} MiB/s, complete ${round1(completeMs)} ms`,
      );
    }
    summarizeFiles(report, s);
  } catch (err) {
    report.status = "failed";
    // fetch() says only "fetch failed"; the reason is its cause.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    report.note = err instanceof Error ? `${err.message}${cause}` : String(err);
  }
  return report;
}
