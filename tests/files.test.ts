import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { files } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { api, apiWithEnv, jsonBody } from "./helpers/api.ts";
import {
  chunked,
  complete,
  declare,
  declared,
  type FileView,
  getFile,
  local,
  png,
  putContent,
  readyFile,
  text,
} from "./helpers/files.ts";
import { addMember, createOrg, testDb } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { createRoom, roomFixture } from "./helpers/realtime.ts";
import { bearer, registerUser } from "./helpers/users.ts";

const stored = (f: { orgId: string; id: string }) => env.FILES.head(`${f.orgId}/${f.id}`);

describe("files: the whole flow on R2", () => {
  it("declares, uploads through the signed Worker URL, completes, serves and deletes", async () => {
    const { owner, org, room, members } = await roomFixture(["member"]);
    const reader = members[0]!;
    const bytes = png(200 * 1024); // over MAX_BODY_BYTES (64 KiB): the upload route has its own limit
    const before = Date.now();
    const { file, upload } = await declared(owner, {
      filename: "diagram.png",
      size: bytes.byteLength,
      orgId: org.id,
      roomId: room.id,
    });
    expect(file).toMatchObject({
      status: "pending",
      size: bytes.byteLength,
      roomId: room.id,
      downloadUrl: null,
    });
    expect(upload.method).toBe("PUT");
    expect(upload.headers).toEqual({
      "content-type": "image/png",
      "content-length": String(bytes.byteLength),
    });
    const url = new URL(upload.url);
    expect(url.pathname).toBe(`/v1/files/${file.id}/content`);
    const expires = Date.parse(upload.expiresAt);
    expect(expires).toBeGreaterThan(before);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000);

    // Pending: no download yet, and room members do not see it.
    await expectProblem(
      await api(`/v1/files/${file.id}/download`, bearer(owner.accessToken)),
      409,
      "conflict",
    );
    await expectProblem(await getFile(reader, file.id), 404, "not_found");
    await expectProblem(await complete(owner, file.id), 409, "conflict"); // nothing uploaded yet

    const put = await putContent(upload, bytes);
    expect(put.status, await put.text()).toBe(204);
    // Uploaded content is never replaced under a running check (conditional write).
    await expectProblem(await putContent(upload, png(bytes.byteLength)), 409, "conflict");
    const res = await complete(owner, file.id);
    expect(res.status, await res.clone().text()).toBe(200);
    const ready = (await res.json()) as FileView;
    expect(ready).toMatchObject({ status: "ready", expiresAt: null });
    expect(ready.downloadUrl).toMatch(new RegExp(`/v1/files/${file.id}/content\\?exp=\\d+&sig=`));
    expect((await complete(owner, file.id)).status).toBe(200); // idempotent
    await expectProblem(await putContent(upload, bytes), 409, "conflict"); // no overwrite once ready

    // The signed URL serves the bytes without a bearer header.
    const dl = await api(local(ready.downloadUrl!));
    expect(dl.status).toBe(200);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(bytes);
    expect(dl.headers.get("content-type")).toBe("image/png");
    expect(dl.headers.get("content-disposition")).toBe(
      `inline; filename="diagram.png"; filename*=UTF-8''diagram.png`,
    );
    expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(dl.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(dl.headers.get("cross-origin-resource-policy")).toBe("cross-origin");

    // A room member sees the ready file; the bearer download redirects to a signed URL.
    const seen = (await (await getFile(reader, file.id)).json()) as FileView;
    expect(seen.downloadUrl).toBeTruthy();
    const redirect = await api(`/v1/files/${file.id}/download`, {
      ...bearer(reader.accessToken),
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(local(redirect.headers.get("location")!)).toMatch(new RegExp(`^/v1/files/${file.id}/content\\?`));
    expect(redirect.headers.get("cache-control")).toBe("no-store");

    // Only the uploader or an org admin deletes; the object goes with the row.
    await expectProblem(
      await api(`/v1/files/${file.id}`, { ...bearer(reader.accessToken), method: "DELETE" }),
      403,
      "forbidden",
    );
    expect(await stored(file)).not.toBeNull();
    expect(
      (await api(`/v1/files/${file.id}`, { ...bearer(owner.accessToken), method: "DELETE" })).status,
    ).toBe(204);
    expect(await stored(file)).toBeNull();
    await expectProblem(await getFile(owner, file.id), 404, "not_found");
    await expectProblem(await api(local(ready.downloadUrl!)), 404, "not_found");
  });

  it("serves anything but safe raster images as an attachment, with an RFC 6266 filename", async () => {
    const { owner, org } = await roomFixture();
    const body = text("plain words, nothing active <script>alert(1)</script>\n");
    const f = await readyFile(
      owner,
      { filename: "résumé 100%.txt", contentType: "text/plain", size: body.byteLength, orgId: org.id },
      body,
    );
    const dl = await api(local(f.downloadUrl!));
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(dl.headers.get("content-disposition")).toBe(
      `attachment; filename="r_sum_ 100_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20100%25.txt`,
    );
    expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await dl.text()).toBe("plain words, nothing active <script>alert(1)</script>\n");
  });
});

describe("files: declarations that are refused", () => {
  it("413 over the size limit, 415 for types not allowed or without a content check", async () => {
    const { owner, org } = await roomFixture();
    const over = 25 * 1024 * 1024 + 1;
    await expectProblem(await declare(owner, { size: over, orgId: org.id }), 413, "payload_too_large");
    for (const contentType of [
      "image/svg+xml",
      "text/html",
      "application/xhtml+xml",
      "application/x-msdownload",
    ]) {
      await expectProblem(
        await declare(owner, { filename: "x.bin", contentType, size: 10, orgId: org.id }),
        415,
        "unsupported_media_type",
      );
    }
    // Configured but unknown to the content check: refused all the same (fail closed).
    await expectProblem(
      await declare(
        owner,
        { filename: "x.svg", contentType: "image/svg+xml", size: 10, orgId: org.id },
        { FILES_ALLOWED_TYPES: "image/svg+xml,image/png" },
      ),
      415,
      "unsupported_media_type",
    );
    // The limit is configuration.
    await expectProblem(
      await declare(owner, { size: 1001, orgId: org.id }, { FILES_MAX_BYTES: "1000" }),
      413,
      "payload_too_large",
    );
    await expectProblem(await declare(owner, { size: 0, orgId: org.id }), 400, "validation_failed");
  });

  it("refuses filenames with paths, controls or bidi marks; keeps odd names out of keys and URLs", async () => {
    const { owner, org } = await roomFixture();
    for (const filename of [
      "../../a.png",
      "a/b.png",
      "a\\b.png",
      "a\u0000.png",
      "cod\u202Egnp.exe",
      "..",
      " a.png",
    ]) {
      await expectProblem(
        await declare(owner, { filename, size: 64, orgId: org.id }),
        400,
        "validation_failed",
      );
    }
    for (const filename of ["a.php%00.png", "a.png.html"]) {
      const f = await readyFile(owner, { filename, size: 64, orgId: org.id });
      const [row] = await testDb().select().from(files).where(eq(files.id, f.id));
      expect(row!.objectKey).toBe(`${org.id}/${f.id}`);
      expect(new URL(f.downloadUrl!).pathname).toBe(`/v1/files/${f.id}/content`);
      expect(f.downloadUrl).not.toContain("php");
      expect(f.downloadUrl).not.toContain("html");
      const dl = await api(local(f.downloadUrl!));
      const disposition = dl.headers.get("content-disposition")!;
      if (filename === "a.png.html") {
        // Saved as a PNG, whatever the declared name ends with.
        expect(disposition).toBe(`inline; filename="a.png.html.png"; filename*=UTF-8''a.png.html.png`);
      } else {
        expect(disposition).toBe(`inline; filename="a.php_00.png"; filename*=UTF-8''a.php%2500.png`);
      }
      await dl.arrayBuffer();
    }
  });
});

describe("files: uploads that do not match the declaration", () => {
  it("refuses a different Content-Length or Content-Type before storing anything", async () => {
    const { owner, org } = await roomFixture();
    const { file, upload } = await declared(owner, { size: 100, orgId: org.id });
    await expectProblem(
      await putContent(upload, png(101), { "content-length": "101" }),
      413,
      "payload_too_large",
    );
    await expectProblem(
      await putContent(upload, png(99), { "content-length": "99" }),
      400,
      "validation_failed",
    );
    await expectProblem(
      await putContent(upload, png(100), { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    // A body that ends before its Content-Length: refused, nothing kept.
    await expectProblem(
      await putContent(upload, chunked(1, 60), { "content-length": "100" }),
      400,
      "validation_failed",
    );
    expect(await stored(file)).toBeNull();
    // With a matching Content-Length the body streams natively, bounded by HTTP framing.
    expect((await putContent(upload, png(100), { "content-length": "100" })).status).toBe(204);
    expect((await stored(file))?.size).toBe(100);
  });

  it("cuts off a chunked body longer than declared and refuses a shorter one; nothing remains", async () => {
    const { owner, org } = await roomFixture();
    const { file, upload } = await declared(owner, { size: 4096, orgId: org.id });
    await expectProblem(await putContent(upload, chunked(64, 1024)), 413, "payload_too_large");
    expect(await stored(file)).toBeNull();
    await expectProblem(await putContent(upload, chunked(3, 1024)), 400, "validation_failed");
    expect(await stored(file)).toBeNull();
    // The exact length, chunked, is fine.
    expect((await putContent(upload, chunked(4, 1024))).status).toBe(204);
    expect((await stored(file))?.size).toBe(4096);
    expect((await complete(owner, file.id)).status).toBe(200);
  });

  it("refuses a tampered, expired or missing signature", async () => {
    const { owner, org } = await roomFixture();
    const { file, upload } = await declared(owner, { size: 64, orgId: org.id });
    const u = new URL(upload.url);
    const sig = u.searchParams.get("sig")!;
    u.searchParams.set("sig", `${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`);
    await expectProblem(await putContent({ ...upload, url: u.toString() }, png(64)), 403, "forbidden");
    // Another file's signature does not open this one.
    const other = await declared(owner, { size: 64, orgId: org.id });
    const swapped = new URL(other.upload.url);
    swapped.pathname = `/v1/files/${file.id}/content`;
    await expectProblem(await putContent({ ...upload, url: swapped.toString() }, png(64)), 403, "forbidden");
    await expectProblem(
      await api(`/v1/files/${file.id}/content`, {
        method: "PUT",
        body: png(64),
        headers: { "content-type": "image/png" },
      }),
      400,
      "validation_failed",
    );
    // A download URL does not authorise an upload (the purpose is signed).
    const ready = await readyFile(owner, { size: 64, orgId: org.id });
    const asUpload = new URL(ready.downloadUrl!);
    await expectProblem(await putContent({ ...upload, url: asUpload.toString() }, png(64)), 403, "forbidden");
    const { upload: short } = await declared(
      owner,
      { size: 64, orgId: org.id },
      { FILES_UPLOAD_URL_TTL: "1" },
    );
    await new Promise((r) => setTimeout(r, 2100));
    await expectProblem(await putContent(short, png(64)), 403, "forbidden");
    expect(await stored(file)).toBeNull();
  });

  it("415 at complete when the content is not what was declared, and the object is deleted", async () => {
    const { owner, org } = await roomFixture();
    const fake = text("this is not a png at all, just text!");
    const { file, upload } = await declared(owner, {
      filename: "a.png",
      size: fake.byteLength,
      orgId: org.id,
    });
    expect((await putContent(upload, fake)).status).toBe(204);
    expect(await stored(file)).not.toBeNull();
    await expectProblem(await complete(owner, file.id), 415, "unsupported_media_type");
    expect(await stored(file)).toBeNull();
    // Still pending: the same URL may carry the right bytes now.
    expect((await putContent(upload, png(fake.byteLength))).status).toBe(204);
    expect((await complete(owner, file.id)).status).toBe(200);

    // Binary content declared as text, and a stored object of another size.
    const bin = png(32);
    const t = await declared(owner, {
      filename: "n.txt",
      contentType: "text/plain",
      size: 32,
      orgId: org.id,
    });
    expect((await putContent(t.upload, bin)).status).toBe(204);
    await expectProblem(await complete(owner, t.file.id), 415, "unsupported_media_type");
    expect(await stored(t.file)).toBeNull();
    const s = await declared(owner, { size: 64, orgId: org.id });
    await env.FILES.put(`${org.id}/${s.file.id}`, png(65)); // as a misbehaving store client might
    await expectProblem(await complete(owner, s.file.id), 415, "unsupported_media_type");
    expect(await stored(s.file)).toBeNull();
  });
});

describe("files: who may see and do what", () => {
  it("404 for another org's member and for rooms one cannot see; guests need a room", async () => {
    const { owner, org, room, members } = await roomFixture(["member", "guest", "admin"]);
    const [member, guest, admin] = members as [typeof owner, typeof owner, typeof owner];
    const outsider = await registerUser();
    await createOrg(outsider); // a member of another org
    const f = await readyFile(owner, { size: 64, orgId: org.id, roomId: room.id });
    await expectProblem(await getFile(outsider, f.id), 404, "not_found");
    await expectProblem(
      await api(`/v1/files/${f.id}/download`, bearer(outsider.accessToken)),
      404,
      "not_found",
    );
    await expectProblem(await complete(outsider, f.id), 404, "not_found");
    await expectProblem(
      await api(`/v1/files/${f.id}`, { ...bearer(outsider.accessToken), method: "DELETE" }),
      404,
      "not_found",
    );
    await expectProblem(await declare(outsider, { size: 64, orgId: org.id }), 404, "not_found");
    await expectProblem(
      await declare(outsider, { size: 64, orgId: org.id, roomId: room.id }),
      404,
      "not_found",
    );
    // The guest was not added to the room: it does not see the room's files, nor upload org-wide.
    await expectProblem(await getFile(guest, f.id), 404, "not_found");
    await expectProblem(await declare(guest, { size: 64, orgId: org.id }), 403, "forbidden");
    await expectProblem(await declare(guest, { size: 64, orgId: org.id, roomId: room.id }), 404, "not_found");
    await api(`/v1/rooms/${room.id}/members`, jsonBody({ userId: guest.id }, bearer(owner.accessToken)));
    expect((await getFile(guest, f.id)).status).toBe(200);
    expect((await declare(guest, { size: 64, orgId: org.id, roomId: room.id })).status).toBe(201);
    // A private room's files: its members and org admins only.
    const priv = await createRoom(owner, org.id, "private", "secret");
    const p = await readyFile(owner, { size: 64, orgId: org.id, roomId: priv.id });
    await expectProblem(await getFile(member, p.id), 404, "not_found");
    await expectProblem(
      await declare(member, { size: 64, orgId: org.id, roomId: priv.id }),
      404,
      "not_found",
    );
    expect((await getFile(admin, p.id)).status).toBe(200);
    // A room of another org, even one the caller belongs to, is not this org's room.
    const otherOrg = await createOrg(owner);
    await expectProblem(
      await declare(owner, { size: 64, orgId: otherOrg.id, roomId: room.id }),
      404,
      "not_found",
    );
    // Org-wide files: uploader and admins; admins may delete another member's file.
    const mine = await readyFile(member, { size: 64, orgId: org.id });
    await expectProblem(await getFile(guest, mine.id), 404, "not_found");
    expect((await getFile(admin, mine.id)).status).toBe(200);
    expect(
      (await api(`/v1/files/${mine.id}`, { ...bearer(admin.accessToken), method: "DELETE" })).status,
    ).toBe(204);
  });

  it("403 quota_exceeded past the per-user quota; pending uploads count, concurrent ones too", async () => {
    const { owner, org } = await roomFixture();
    const quota = { FILES_QUOTA_BYTES: "1000" };
    expect((await declare(owner, { size: 600, orgId: org.id }, quota)).status).toBe(201);
    await expectProblem(await declare(owner, { size: 401, orgId: org.id }, quota), 403, "quota_exceeded");
    expect((await declare(owner, { size: 400, orgId: org.id }, quota)).status).toBe(201);
    // Ten at once, room for three: exactly three win.
    const other = await registerUser();
    await addMember(org.id, other, "member");
    const results = await Promise.all(
      Array.from({ length: 10 }, () => declare(other, { size: 300, orgId: org.id }, quota)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 403, 403, 403, 403, 403, 403, 403]);
  });

  it("limits POST /v1/files per user (429 with Retry-After)", async () => {
    const { owner, org } = await roomFixture();
    const limit = { FILES_RATE_LIMIT: "2" };
    for (let i = 0; i < 2; i++)
      expect((await declare(owner, { size: 10, orgId: org.id }, limit)).status).toBe(201);
    const res = await declare(owner, { size: 10, orgId: org.id }, limit);
    await expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("files: attachments and cleanup", () => {
  const post = (token: string, roomId: string, attachments: string[]) =>
    api(
      `/v1/rooms/${roomId}/messages`,
      jsonBody({ body: "see attached", clientId: crypto.randomUUID(), attachments }, bearer(token)),
    );

  it("accepts ready files of the room; refuses pending, foreign and unknown ids with 400", async () => {
    const { owner, org, room, members } = await roomFixture(["member", "member"]);
    const [member, other] = members as [typeof owner, typeof owner];
    const ready = await readyFile(member, { size: 64, orgId: org.id, roomId: room.id });
    const res = await post(member.accessToken, room.id, [ready.id]);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { attachments: string[] }).attachments).toEqual([ready.id]);
    // Another member of the room may attach it too: it is a file of the room.
    expect((await post(other.accessToken, room.id, [ready.id])).status).toBe(201);

    const { file: pending } = await declared(member, { size: 64, orgId: org.id, roomId: room.id });
    const otherRoom = await createRoom(owner, org.id, "public", "other");
    const elsewhere = await readyFile(owner, { size: 64, orgId: org.id, roomId: otherRoom.id });
    const orgWide = await readyFile(member, { size: 64, orgId: org.id });
    const stranger = await roomFixture();
    const foreign = await readyFile(stranger.owner, {
      size: 64,
      orgId: stranger.org.id,
      roomId: stranger.room.id,
    });
    const cases: Array<[string, string]> = [
      [pending.id, "the upload is not complete"],
      [elsewhere.id, "no such file in this room"],
      [orgWide.id, "no such file in this room"],
      [foreign.id, "no such file in this room"],
      [crypto.randomUUID(), "no such file in this room"],
    ];
    for (const [id, message] of cases) {
      const body = await expectProblem(
        await post(member.accessToken, room.id, [ready.id, id]),
        400,
        "validation_failed",
      );
      expect(body.errors).toEqual([{ path: "attachments.1", message }]);
    }
    // Someone else's pending upload looks like any unknown id.
    const body = await expectProblem(
      await post(other.accessToken, room.id, [pending.id]),
      400,
      "validation_failed",
    );
    expect(body.errors).toEqual([{ path: "attachments.0", message: "no such file in this room" }]);
  });

  it("the scheduled handler removes expired pending uploads and their objects", async () => {
    const { owner, org } = await roomFixture();
    const { file, upload } = await declared(owner, { size: 64, orgId: org.id });
    expect((await putContent(upload, png(64))).status).toBe(204);
    const { file: fresh } = await declared(owner, { size: 64, orgId: org.id });
    const done = await readyFile(owner, { size: 64, orgId: org.id });
    const db = testDb();
    await db.update(files).set({ expiresAt: "2000-01-01T00:00:00.000Z" }).where(eq(files.id, file.id));
    // Expired while pending: complete answers 410.
    await expectProblem(await complete(owner, file.id), 410, "gone");
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await db.select().from(files).where(eq(files.id, file.id))).toEqual([]);
    expect(await stored(file)).toBeNull();
    expect((await getFile(owner, fresh.id)).status).toBe(200);
    expect((await getFile(owner, done.id)).status).toBe(200);
  });
});

describe("files: configuration", () => {
  it("fails closed (500, the log names what is missing) when STORAGE_DRIVER=s3 lacks S3_*", async () => {
    const { owner, org } = await roomFixture();
    await expectProblem(
      await apiWithEnv(
        { STORAGE_DRIVER: "s3" },
        "/v1/files",
        jsonBody(
          { filename: "a.png", contentType: "image/png", size: 10, orgId: org.id },
          bearer(owner.accessToken),
        ),
      ),
      500,
      "internal",
    );
  });
});

describe("files: org deletion", () => {
  it("deleting an org removes its stored objects, not only the rows", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const f = await readyFile(owner, { size: 64, orgId: org.id });
    expect(await stored(f)).not.toBeNull();
    const other = await createOrg(owner, { name: "Keeps its files" });
    const kept = await readyFile(owner, { size: 64, orgId: other.id });
    expect((await api(`/v1/orgs/${org.id}`, { method: "DELETE", ...bearer(owner.accessToken) })).status).toBe(
      204,
    );
    const deadline = Date.now() + 5000;
    while ((await stored(f)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await stored(f)).toBeNull();
    expect(await stored(kept)).not.toBeNull();
  });
});
