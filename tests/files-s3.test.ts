import { describe, expect, inject, it } from "vitest";
import { apiWithEnv } from "./helpers/api.ts";
import {
  chunked,
  complete,
  declared,
  type FileView,
  local,
  png,
  putContent,
  text,
  type Upload,
} from "./helpers/files.ts";
import { expectProblem } from "./helpers/problem.ts";
import { roomFixture } from "./helpers/realtime.ts";
import { bearer } from "./helpers/users.ts";

/**
 * The S3 implementation against a real S3-compatible server (s3rver, started by the global
 * setup), which checks SigV4 signatures and expiry like AWS: the store itself refuses what the
 * presigned PUT does not allow.
 */
const s3 = () => ({
  STORAGE_DRIVER: "s3",
  S3_ENDPOINT: inject("s3Url"),
  S3_BUCKET: inject("s3Bucket"),
  S3_REGION: "us-east-1",
  S3_ACCESS_KEY_ID: "S3RVER",
  S3_SECRET_ACCESS_KEY: "S3RVER",
});

/** PUT straight to the store, as a browser would, with the upload's headers unless overridden. */
function putToStore(upload: Upload, body: Uint8Array, headers: Record<string, string | undefined> = {}) {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...upload.headers, "content-length": undefined, ...headers })) {
    if (v !== undefined) h[k] = v;
  }
  return fetch(upload.url, { method: "PUT", body, headers: h });
}

describe("files on S3 (presigned URLs, real S3-compatible server)", () => {
  it("presigns a PUT that binds size, type and disposition, then serves through a presigned GET", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const bytes = png(100 * 1024);
    const { file, upload } = await declared(
      owner,
      { filename: "plan é.png", size: bytes.byteLength, orgId: org.id, roomId: room.id },
      s3(),
    );
    const url = new URL(upload.url);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${inject("s3Url")}/${inject("s3Bucket")}/${org.id}/${file.id}`,
    );
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe(
      "content-disposition;content-length;content-type;host;if-none-match",
    );
    expect(Number(url.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(15 * 60);
    expect(upload.headers).toEqual({
      "content-type": "image/png",
      "content-length": String(bytes.byteLength),
      "content-disposition": `inline; filename="plan _.png"; filename*=UTF-8''plan%20%C3%A9.png`,
      "if-none-match": "*",
    });

    const put = await putToStore(upload, bytes);
    expect(put.status, await put.text()).toBe(200);
    const res = await complete(owner, file.id, s3());
    expect(res.status, await res.clone().text()).toBe(200);
    const ready = (await res.json()) as FileView;
    expect(ready.status).toBe("ready");
    expect(ready.downloadUrl!.startsWith(`${inject("s3Url")}/`)).toBe(true);
    expect(ready.downloadUrl).not.toContain("plan");

    const dl = await fetch(ready.downloadUrl!);
    expect(dl.status).toBe(200);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(bytes);
    expect(dl.headers.get("content-type")).toBe("image/png");
    expect(dl.headers.get("content-disposition")).toBe(upload.headers["content-disposition"]);

    const reader = members[0]!;
    const redirect = await apiWithEnv(s3(), `/v1/files/${file.id}/download`, {
      ...bearer(reader.accessToken),
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")!.startsWith(`${inject("s3Url")}/`)).toBe(true);

    const del = await apiWithEnv(s3(), `/v1/files/${file.id}`, {
      ...bearer(owner.accessToken),
      method: "DELETE",
    });
    expect(del.status).toBe(204);
    expect((await fetch(ready.downloadUrl!)).status).toBe(404); // the object is gone from the store
  });

  it("the store refuses another size, type or disposition, a tampered signature and an expired URL", async () => {
    const { owner, org } = await roomFixture();
    const { file, upload } = await declared(owner, { size: 1024, orgId: org.id }, s3());
    expect((await putToStore(upload, png(1025))).status).toBe(403);
    expect((await putToStore(upload, png(1023))).status).toBe(403);
    expect((await putToStore(upload, png(1024), { "content-type": "text/html" })).status).toBe(403);
    expect((await putToStore(upload, png(1024), { "content-disposition": "inline" })).status).toBe(403);
    expect((await putToStore(upload, png(1024), { "content-disposition": undefined })).status).toBe(403);
    expect((await putToStore(upload, png(1024), { "if-none-match": undefined })).status).toBe(403);
    const tampered = new URL(upload.url);
    tampered.searchParams.set("X-Amz-Expires", "604800");
    expect((await putToStore({ ...upload, url: tampered.toString() }, png(1024))).status).toBe(403);
    // Nothing was stored.
    await expectProblem(await complete(owner, file.id, s3()), 409, "conflict");

    const short = await declared(owner, { size: 64, orgId: org.id }, { ...s3(), FILES_UPLOAD_URL_TTL: "1" });
    await new Promise((r) => setTimeout(r, 2100));
    expect((await putToStore(short.upload, png(64))).status).toBe(403);
  });

  it("415 at complete when the content is not what was declared, and the object is deleted", async () => {
    const { owner, org } = await roomFixture();
    const fake = text("definitely not an image, only some text");
    const { file, upload } = await declared(owner, { size: fake.byteLength, orgId: org.id }, s3());
    expect((await putToStore(upload, fake)).status).toBe(200);
    await expectProblem(await complete(owner, file.id, s3()), 415, "unsupported_media_type");
    await expectProblem(await complete(owner, file.id, s3()), 409, "conflict"); // the object is gone
  });

  it("the Worker's upload route enforces the same limits when it streams into S3", async () => {
    const { owner, org } = await roomFixture();
    // A Worker upload URL (issued on the R2 driver), used while the Worker stores into S3.
    const put = (upload: Upload, body: BodyInit) =>
      apiWithEnv(s3(), local(upload.url), { method: "PUT", headers: { "content-type": "image/png" }, body });
    const long = await declared(owner, { size: 4096, orgId: org.id });
    await expectProblem(await put(long.upload, chunked(64, 1024)), 413, "payload_too_large");
    // Never ready. AWS S3 refuses a body that ends early (IncompleteBody); s3rver keeps what it
    // got, sometimes after the 413 is out, so this answers 409 (nothing) or 415 (a stub, deleted).
    expect([409, 415]).toContain((await complete(owner, long.file.id, s3())).status);

    const { file, upload } = await declared(owner, { size: 4096, orgId: org.id });
    expect((await put(upload, chunked(4, 1024))).status).toBe(204);
    expect((await complete(owner, file.id, s3())).status).toBe(200);
    await expectProblem(await putContent(upload, png(4096)), 409, "conflict");
  });
});
