/**
 * A real local S3-compatible server for tests and development: `@20minutes/s3rver` (Koa, files on
 * disk). It verifies SigV4 signatures, presigned ones included, and their expiry, so a presigned
 * PUT whose signed `content-length` or `content-type` does not match is refused as AWS would.
 * Its CLI file is missing from the package, so it is started from code.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";

/** The fixed credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: {
  directory: string;
  address: string;
  port: number;
  silent: boolean;
  configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

// The package is CommonJS without type declarations: load it through require, typed above.
const S3rver = createRequire(import.meta.url)("@20minutes/s3rver") as S3rverCtor;

export interface S3Server {
  /** Endpoint for path-style requests (`<url>/<bucket>/<key>`). */
  url: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export async function startS3Server(opts: {
  directory: string;
  bucket: string;
  port?: number;
  silent?: boolean;
}): Promise<S3Server> {
  mkdirSync(opts.directory, { recursive: true });
  const server = new S3rver({
    directory: opts.directory,
    address: "127.0.0.1",
    port: opts.port ?? 0,
    silent: opts.silent ?? true,
    configureBuckets: [{ name: opts.bucket }],
  });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    bucket: opts.bucket,
    region: "us-east-1",
    ...S3RVER_CREDENTIALS,
    close: () => server.close().catch(() => {}),
  };
}
