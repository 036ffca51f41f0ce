import type { Config } from "../config.ts";
import { exactly, guard, STORAGE_OP_TIMEOUT_MS, storing } from "./exact-length.ts";
import { createS3Storage } from "./storage-s3.ts";

export { BodyLengthError } from "./exact-length.ts";

/**
 * Object storage: the R2 binding (production and `wrangler dev`, where miniflare emulates it) or
 * any S3-compatible store (AWS S3, R2's S3 API, MinIO), chosen by STORAGE_DRIVER.
 */
export interface ObjectStorage {
  readonly kind: "r2" | "s3";
  /**
   * With `contentLength`, a stream is stored only if it is exactly that long: a longer one is cut
   * off as soon as it passes the length, and either way a BodyLengthError is thrown. `framed`:
   * the transport already bounds the stream to that length (a Content-Length header equal to it).
   * With `ifAbsent`, nothing is written over an existing object: the answer is then false.
   */
  put(
    key: string,
    body: ReadableStream | ArrayBuffer | string,
    opts?: { contentType?: string; contentLength?: number; framed?: boolean; ifAbsent?: boolean },
  ): Promise<boolean>;
  get(key: string): Promise<{ body: ReadableStream; size: number; contentType?: string } | null>;
  /** The first `length` bytes (all of a shorter object); null when there is no such object. */
  readHead(key: string, length: number): Promise<Uint8Array | null>;
  head(key: string): Promise<{ size: number; contentType?: string } | null>;
  delete(key: string): Promise<void>;
  /** URLs straight to the store. The R2 binding cannot presign, so it has none. */
  readonly presign?: Presigner;
}

export interface Presigner {
  /** A PUT whose signature covers content-type, content-length, content-disposition and if-none-match. */
  put(
    key: string,
    opts: { contentType: string; contentLength: number; contentDisposition: string; expiresIn: number },
  ): Promise<{ url: string; headers: Record<string, string> }>;
  get(key: string, expiresIn: number): Promise<string>;
}

export function createR2Storage(bucket: R2Bucket): ObjectStorage {
  return {
    kind: "r2",
    put: async (key, body, opts) => {
      const options: R2PutOptions = { httpMetadata: { contentType: opts?.contentType } };
      if (opts?.ifAbsent) options.onlyIf = { etagDoesNotMatch: "*" };
      if (body instanceof ReadableStream && opts?.contentLength !== undefined) {
        const { readable, state } = exactly(body, opts.contentLength, opts.framed);
        return (await storing(state, () => bucket.put(key, readable, options))) !== null;
      }
      return (await guard(bucket.put(key, body, options))) !== null;
    },
    get: async (key) => {
      const obj = await guard(bucket.get(key), STORAGE_OP_TIMEOUT_MS);
      return obj ? { body: obj.body, size: obj.size, contentType: obj.httpMetadata?.contentType } : null;
    },
    readHead: async (key, length) => {
      const obj = await guard(bucket.get(key, { range: { offset: 0, length } }), STORAGE_OP_TIMEOUT_MS);
      return obj ? new Uint8Array(await guard(obj.arrayBuffer(), STORAGE_OP_TIMEOUT_MS)) : null;
    },
    head: async (key) => {
      const obj = await guard(bucket.head(key), STORAGE_OP_TIMEOUT_MS);
      return obj ? { size: obj.size, contentType: obj.httpMetadata?.contentType } : null;
    },
    delete: async (key) => {
      await guard(bucket.delete(key), STORAGE_OP_TIMEOUT_MS);
    },
  };
}

// Per isolate, keyed by settings: the S3 client is stateless HTTP, safe to share across requests.
const s3Stores = new Map<string, ObjectStorage>();

/** The storage STORAGE_DRIVER selects. */
export function createStorage(config: Config, bucket: R2Bucket): ObjectStorage {
  // config.s3 is set exactly when STORAGE_DRIVER=s3, complete (checked when the config was parsed).
  const s = config.s3;
  if (!s) return createR2Storage(bucket);
  const id = JSON.stringify(s);
  let store = s3Stores.get(id);
  if (!store) {
    store = createS3Storage(s);
    s3Stores.set(id, store);
  }
  return store;
}
