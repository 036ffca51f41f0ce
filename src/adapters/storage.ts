import { DependencyError } from "../lib/errors.ts";

/** Object storage. Production and `wrangler dev`: the R2 binding. (S3 arrives with the files work.) */
export interface ObjectStorage {
  readonly kind: "r2" | "s3";
  put(
    key: string,
    body: ReadableStream | ArrayBuffer | string,
    opts?: { contentType?: string },
  ): Promise<void>;
  get(key: string): Promise<{ body: ReadableStream; size: number; contentType?: string } | null>;
  head(key: string): Promise<{ size: number; contentType?: string } | null>;
  delete(key: string): Promise<void>;
}

export function createR2Storage(bucket: R2Bucket): ObjectStorage {
  const guard = <T>(p: Promise<T>) =>
    p.catch((err) => {
      throw new DependencyError("storage", err);
    });
  return {
    kind: "r2",
    put: async (key, body, opts) => {
      await guard(bucket.put(key, body, { httpMetadata: { contentType: opts?.contentType } }));
    },
    get: async (key) => {
      const obj = await guard(bucket.get(key));
      return obj ? { body: obj.body, size: obj.size, contentType: obj.httpMetadata?.contentType } : null;
    },
    head: async (key) => {
      const obj = await guard(bucket.head(key));
      return obj ? { size: obj.size, contentType: obj.httpMetadata?.contentType } : null;
    },
    delete: async (key) => {
      await guard(bucket.delete(key));
    },
  };
}
