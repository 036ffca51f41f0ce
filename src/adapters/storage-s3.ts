import type { S3Settings } from "../config.ts";
import { DependencyError } from "../lib/errors.ts";
import { exactly, guard, STORAGE_OP_TIMEOUT_MS, storing } from "./exact-length.ts";

/** Metadata-sized S3 calls are bounded like R2's (see STORAGE_OP_TIMEOUT_MS). */
const bounded = () => ({ abortSignal: AbortSignal.timeout(STORAGE_OP_TIMEOUT_MS) });

import type { ObjectStorage } from "./storage.ts";

const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

/** The SDK is imported on first use, so R2 deployments never evaluate it. */
async function s3Client(s: S3Settings) {
  const [sdk, { getSignedUrl }] = await Promise.all([
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/s3-request-presigner"),
  ]);
  const client = new sdk.S3Client({
    region: s.region,
    endpoint: s.endpoint,
    // Custom endpoints (R2's S3 API, MinIO, local servers) are addressed path-style.
    forcePathStyle: Boolean(s.endpoint),
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    // No checksum headers the presigned URLs would have to carry; local servers lack them too.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  return { sdk, client, getSignedUrl };
}

export function createS3Storage(s: S3Settings): ObjectStorage {
  let loaded: ReturnType<typeof s3Client> | undefined;
  const s3 = () => {
    loaded ??= s3Client(s);
    return loaded;
  };
  const Bucket = s.bucket;
  const orNull = <T>(p: Promise<T>) =>
    p.catch((err) => {
      if (isMissing(err)) return null;
      throw new DependencyError("storage", err);
    });
  return {
    kind: "s3",
    put: async (key, body, opts) => {
      const { sdk, client } = await s3();
      const IfNoneMatch = opts?.ifAbsent ? "*" : undefined;
      const put = (Body: ReadableStream | Uint8Array | string, ContentLength?: number) =>
        client
          .send(
            new sdk.PutObjectCommand({
              Bucket,
              Key: key,
              Body,
              ContentLength,
              ContentType: opts?.contentType,
              IfNoneMatch,
            }),
          )
          .then(
            () => true,
            (err: { $metadata?: { httpStatusCode?: number } }) => {
              if (err?.$metadata?.httpStatusCode === 412) return false; // ifAbsent: the object exists
              throw err;
            },
          );
      if (body instanceof ReadableStream && opts?.contentLength !== undefined) {
        const { readable, state } = exactly(body, opts.contentLength, opts.framed);
        return storing(state, () => put(readable, opts.contentLength));
      }
      return guard(put(body instanceof ArrayBuffer ? new Uint8Array(body) : body));
    },
    get: async (key) => {
      const { sdk, client } = await s3();
      const res = await orNull(client.send(new sdk.GetObjectCommand({ Bucket, Key: key }), bounded()));
      if (!res?.Body) return null;
      return {
        body: res.Body.transformToWebStream(),
        size: res.ContentLength ?? 0,
        contentType: res.ContentType,
      };
    },
    readHead: async (key, length) => {
      const { sdk, client } = await s3();
      const Range = `bytes=0-${Math.max(0, length - 1)}`;
      const res = await orNull(client.send(new sdk.GetObjectCommand({ Bucket, Key: key, Range }), bounded()));
      return res?.Body ? await guard(res.Body.transformToByteArray()) : null;
    },
    head: async (key) => {
      const { sdk, client } = await s3();
      const res = await orNull(client.send(new sdk.HeadObjectCommand({ Bucket, Key: key }), bounded()));
      return res ? { size: res.ContentLength ?? 0, contentType: res.ContentType } : null;
    },
    delete: async (key) => {
      const { sdk, client } = await s3();
      await guard(client.send(new sdk.DeleteObjectCommand({ Bucket, Key: key }), bounded()));
    },
    presign: {
      put: async (key, o) => {
        const { sdk, client, getSignedUrl } = await s3();
        const headers = {
          "content-type": o.contentType,
          "content-length": String(o.contentLength),
          "content-disposition": o.contentDisposition,
          // A conditional write: once content is there (and being checked, or checked), the URL
          // cannot replace it. Stores with conditional writes (AWS S3 since 2024) enforce it.
          "if-none-match": "*",
        };
        const command = new sdk.PutObjectCommand({
          Bucket,
          Key: key,
          ContentType: o.contentType,
          ContentLength: o.contentLength,
          ContentDisposition: o.contentDisposition,
          IfNoneMatch: "*",
        });
        // Only signed headers bind the client: without these, any size or type would be accepted.
        const url = await getSignedUrl(client, command, {
          expiresIn: o.expiresIn,
          signableHeaders: new Set(Object.keys(headers)),
        });
        return { url, headers };
      },
      get: async (key, expiresIn) => {
        const { sdk, client, getSignedUrl } = await s3();
        return getSignedUrl(client, new sdk.GetObjectCommand({ Bucket, Key: key }), { expiresIn });
      },
    },
  };
}
