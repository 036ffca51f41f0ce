import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { uuidv7 } from "../src/lib/ids.ts";
import { signFileUrl } from "../src/services/files/signed-urls.ts";
import { local, png } from "./helpers/files.ts";
import { insertOrg } from "./helpers/orgs.ts";
import {
  expectEveryOperationExercised,
  isSuccess,
  type MatrixRequest,
  type RouteSpec,
  routeSpecs,
  runRoleMatrix,
  type StatusRow,
  type World,
} from "./helpers/role-matrix.ts";
import {
  type FileFixture,
  fileRow,
  filesOf,
  insertFile,
  insertNotification,
  insertRoom,
  readAt,
} from "./helpers/room-fixtures.ts";
import type { TestUser } from "./helpers/users.ts";

/**
 * THE table for files and notifications: route × caller → exact status, each cell in a fresh org
 * (see tests/helpers/role-matrix.ts; "bad" is the five bad-credential callers, who claim to be
 * the owner). "Own" files were uploaded by the caller, "another's" by the second member; rooms are
 * made by the second admin, "caller added" makes the caller an explicit room member.
 */
// biome-ignore format: keep the table aligned
const FILES = {
  //                                                         bad      outsider guest    member   admin    owner    global
  "POST /v1/files: org-wide":                               [401,     404,     403,     201,     201,     201,     404],
  "POST /v1/files: public room":                            [401,     404,     404,     201,     201,     201,     404],
  "POST /v1/files: private room":                           [401,     404,     404,     404,     201,     201,     404],
  "POST /v1/files: private room, caller added":             [401,     404,     201,     201,     201,     201,     404],
  "POST /v1/files: a room of another org of the caller":    [401,     404,     404,     404,     404,     404,     404],
  "GET file: own, pending":                                 [401,     404,     200,     200,     200,     200,     404],
  "GET file: another's, ready, public room":                [401,     404,     404,     200,     200,     200,     404],
  "GET file: another's, ready, private room":               [401,     404,     404,     404,     200,     200,     404],
  "GET file: another's, ready, private room, caller added": [401,     404,     200,     200,     200,     200,     404],
  "GET file: another's, pending, public room":              [401,     404,     404,     404,     200,     200,     404],
  "GET file: another's, ready, org-wide":                   [401,     404,     404,     404,     200,     200,     404],
  "GET file: no such file":                                 [401,     404,     404,     404,     404,     404,     404],
  "GET download: another's, ready, public room":            [401,     404,     404,     302,     302,     302,     404],
  "GET download: own, pending":                             [401,     404,     409,     409,     409,     409,     404],
  "POST complete: own, uploaded":                           [401,     404,     200,     200,     200,     200,     404],
  "POST complete: another's, uploaded, public room":        [401,     404,     404,     404,     200,     200,     404],
  "POST complete: another's, ready, public room":           [401,     404,     404,     403,     200,     200,     404],
  "DELETE file: own":                                       [401,     404,     204,     204,     204,     204,     404],
  "DELETE file: another's, ready, public room":             [401,     404,     404,     403,     204,     204,     404],
  "DELETE file: another's, ready, private room":            [401,     404,     404,     404,     204,     204,     404],
  // Signed URLs: the signature alone decides; a bearer header, good or bad, changes nothing.
  "PUT content: a valid signed URL":                        [204,     204,     204,     204,     204,     204,     204],
  "PUT content: a bad signature":                           [403,     403,     403,     403,     403,     403,     403],
  "GET content: a valid signed URL":                        [200,     200,     200,     200,     200,     200,     200],
  "GET content: a bad signature":                           [403,     403,     403,     403,     403,     403,     403],
} satisfies Record<string, StatusRow>;

/** Notifications are personal: every signed-in caller has their own, and nobody else's. */
// biome-ignore format: keep the table aligned
const NOTIFICATIONS = {
  //                                                         bad      outsider guest    member   admin    owner    global
  "GET /v1/notifications":                                  [401,     200,     200,     200,     200,     200,     200],
  "POST notification read: own":                            [401,     204,     204,     204,     204,     204,     204],
  "POST notification read: another's":                      [401,     404,     404,     404,     404,     404,     404],
  "POST /v1/notifications/read-all":                        [401,     204,     204,     204,     204,     204,     204],
} satisfies Record<string, StatusRow>;

type Where = "org-wide" | "public room" | "private room" | "private room, caller added";

/** The row's room (made by the second admin; the uploader is a room member too), or none. */
async function roomFor(w: World, where: Where, uploader?: TestUser): Promise<string | undefined> {
  if (where === "org-wide") return undefined;
  const members = [...(where.endsWith("caller added") ? [w.self] : []), ...(uploader ? [uploader] : [])];
  const visibility = where.startsWith("private") ? "private" : "public";
  return (await insertRoom(w.orgId, { visibility, createdBy: w.cast.admin2, members })).id;
}

const declare =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const roomId = await roomFor(w, where);
    return {
      method: "POST",
      path: "/v1/files",
      body: {
        filename: "a.png",
        contentType: "image/png",
        size: 64,
        orgId: w.orgId,
        ...(roomId ? { roomId } : {}),
      },
      check: async (status) => {
        const rows = await filesOf(w.orgId);
        expect(rows.map((f) => [f.uploaderId, f.roomId, f.status])).toEqual(
          isSuccess(status) ? [[w.self.id, roomId ?? null, "pending"]] : [],
        );
      },
    };
  };

/** A room of another org the caller owns: visible to the caller, but not of the org declared. */
const declareForeignRoom = async (w: World): Promise<MatrixRequest> => {
  const otherOrg = await insertOrg(w.self);
  const room = await insertRoom(otherOrg, { visibility: "public", createdBy: w.self });
  return {
    method: "POST",
    path: "/v1/files",
    body: { filename: "a.png", contentType: "image/png", size: 64, orgId: w.orgId, roomId: room.id },
    check: async () => {
      expect(await filesOf(w.orgId)).toEqual([]);
      expect(await filesOf(otherOrg)).toEqual([]);
    },
  };
};

/** A file of the caller ("own", in a public room the caller was added to) or of the second member. */
async function fileOf(w: World, own: boolean, where: Where, status: "pending" | "ready", stored?: boolean) {
  const uploader = own ? w.self : w.cast.member2;
  const roomId = await roomFor(w, own ? "public room" : where, uploader);
  return insertFile(w.orgId, uploader, { roomId, status, stored });
}

const getFile = (own: boolean, where: Where, status: "pending" | "ready") => async (w: World) => {
  const f = await fileOf(w, own, where, status);
  return {
    method: "GET",
    path: `/v1/files/${f.id}`,
    check: async (s, res) => {
      if (isSuccess(s)) expect(await res.json()).toMatchObject({ id: f.id, status });
    },
  } satisfies MatrixRequest;
};

const download = (own: boolean, status: "pending" | "ready") => async (w: World) => {
  const f = await fileOf(w, own, "public room", status);
  return {
    method: "GET",
    path: `/v1/files/${f.id}/download`,
    check: async (s, res) => {
      if (s === 302) expect(res.headers.get("location")).toContain(`/v1/files/${f.id}/content?`);
    },
  } satisfies MatrixRequest;
};

const complete = (own: boolean, status: "pending" | "ready") => async (w: World) => {
  const f = await fileOf(w, own, "public room", status, true);
  return {
    method: "POST",
    path: `/v1/files/${f.id}/complete`,
    check: async (s) => expect((await fileRow(f.id))?.status).toBe(isSuccess(s) ? "ready" : status),
  } satisfies MatrixRequest;
};

const remove = (own: boolean, where: Where) => async (w: World) => {
  const f = await fileOf(w, own, where, "ready");
  return {
    method: "DELETE",
    path: `/v1/files/${f.id}`,
    check: async (s) => {
      expect(await fileRow(f.id), "the row is gone iff deleted").toEqual(
        isSuccess(s) ? undefined : expect.anything(),
      );
      expect(await env.FILES.head(f.objectKey), "the object too").toEqual(
        isSuccess(s) ? null : expect.anything(),
      );
    },
  } satisfies MatrixRequest;
};

/** The Worker's signed content URL for `f` (what POST /v1/files and downloadUrl hand out), or a forged one. */
async function contentUrl(f: FileFixture, kind: "upload" | "download", valid: boolean) {
  const signed = await signFileUrl(inject("bindings").SERVER_SECRET!, "http://petrel.test", kind, f.id, 600);
  const url = local(signed.url);
  return valid ? url : url.replace(/sig=[^&]+/, `sig=${"A".repeat(43)}`);
}

const putContent =
  (valid: boolean) =>
  async (w: World): Promise<MatrixRequest> => {
    const f = await fileOf(w, false, "public room", "pending", false);
    return {
      method: "PUT",
      path: await contentUrl(f, "upload", valid),
      raw: png(64),
      headers: { "content-type": "image/png" },
      check: async (s) =>
        expect((await env.FILES.head(f.objectKey))?.size).toBe(isSuccess(s) ? 64 : undefined),
    };
  };

const getContent =
  (valid: boolean) =>
  async (w: World): Promise<MatrixRequest> => {
    const f = await fileOf(w, false, "private room", "ready");
    return {
      method: "GET",
      path: await contentUrl(f, "download", valid),
      check: async (s, res) => {
        if (isSuccess(s)) expect(new Uint8Array(await res.arrayBuffer())).toEqual(png(64));
      },
    };
  };

const FILE_REQUESTS: Record<keyof typeof FILES, RouteSpec["request"]> = {
  "POST /v1/files: org-wide": declare("org-wide"),
  "POST /v1/files: public room": declare("public room"),
  "POST /v1/files: private room": declare("private room"),
  "POST /v1/files: private room, caller added": declare("private room, caller added"),
  "POST /v1/files: a room of another org of the caller": declareForeignRoom,
  "GET file: own, pending": getFile(true, "public room", "pending"),
  "GET file: another's, ready, public room": getFile(false, "public room", "ready"),
  "GET file: another's, ready, private room": getFile(false, "private room", "ready"),
  "GET file: another's, ready, private room, caller added": getFile(
    false,
    "private room, caller added",
    "ready",
  ),
  "GET file: another's, pending, public room": getFile(false, "public room", "pending"),
  "GET file: another's, ready, org-wide": getFile(false, "org-wide", "ready"),
  "GET file: no such file": () => ({ method: "GET", path: `/v1/files/${uuidv7()}` }),
  "GET download: another's, ready, public room": download(false, "ready"),
  "GET download: own, pending": download(true, "pending"),
  "POST complete: own, uploaded": complete(true, "pending"),
  "POST complete: another's, uploaded, public room": complete(false, "pending"),
  "POST complete: another's, ready, public room": complete(false, "ready"),
  "DELETE file: own": remove(true, "public room"),
  "DELETE file: another's, ready, public room": remove(false, "public room"),
  "DELETE file: another's, ready, private room": remove(false, "private room"),
  "PUT content: a valid signed URL": putContent(true),
  "PUT content: a bad signature": putContent(false),
  "GET content: a valid signed URL": getContent(true),
  "GET content: a bad signature": getContent(false),
};

/** The caller's own notification and the second member's, both unread. */
async function twoNotifications(w: World) {
  return { own: await insertNotification(w.self), other: await insertNotification(w.cast.member2) };
}

const NOTIFICATION_REQUESTS: Record<keyof typeof NOTIFICATIONS, RouteSpec["request"]> = {
  "GET /v1/notifications": async (w) => {
    const n = await twoNotifications(w);
    return {
      method: "GET",
      path: "/v1/notifications?limit=100",
      check: async (s, res) => {
        if (!isSuccess(s)) return;
        const ids = ((await res.json()) as { items: Array<{ id: string }> }).items.map((i) => i.id);
        expect([ids.includes(n.own), ids.includes(n.other)]).toEqual([true, false]);
      },
    };
  },
  "POST notification read: own": async (w) => {
    const n = await twoNotifications(w);
    return {
      method: "POST",
      path: `/v1/notifications/${n.own}/read`,
      check: async (s) =>
        expect([await readAt(n.own), await readAt(n.other)]).toEqual([
          isSuccess(s) ? expect.any(String) : null,
          null,
        ]),
    };
  },
  "POST notification read: another's": async (w) => {
    const n = await twoNotifications(w);
    return {
      method: "POST",
      path: `/v1/notifications/${n.other}/read`,
      check: async () => expect([await readAt(n.own), await readAt(n.other)]).toEqual([null, null]),
    };
  },
  "POST /v1/notifications/read-all": async (w) => {
    const n = await twoNotifications(w);
    return {
      method: "POST",
      path: "/v1/notifications/read-all",
      check: async (s) =>
        expect([await readAt(n.own), await readAt(n.other)]).toEqual([
          isSuccess(s) ? expect.any(String) : null,
          null,
        ]),
    };
  },
};

describe("role matrix: every file and notification route × every caller", () => {
  runRoleMatrix([
    ...routeSpecs(FILES, FILE_REQUESTS),
    // The bad-credential callers claim the owner's identity: their cells must not race the
    // owner's read-all over the owner's notifications.
    ...routeSpecs(NOTIFICATIONS, NOTIFICATION_REQUESTS, { sequential: true }),
  ]);

  // Runs after the matrix: a route added to these features without a row fails here.
  it("has a row for every operation tagged Files or Notifications in /openapi.json", async () => {
    await expectEveryOperationExercised(["Files", "Notifications"], 10);
  });
});
