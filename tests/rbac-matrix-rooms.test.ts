import { describe, expect, it } from "vitest";
import { uuidv7 } from "../src/lib/ids.ts";
import {
  type CallerKind,
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
  insertRoom,
  isRoomMember,
  lastReadSeq,
  messageRow,
  messagesOf,
  type RoomFixture,
  roomRow,
} from "./helpers/room-fixtures.ts";
import type { TestUser } from "./helpers/users.ts";

/**
 * THE table for rooms and messages: route × caller → exact status, each cell in a fresh org
 * (see tests/helpers/role-matrix.ts; "bad" is the five bad-credential callers, who claim to be
 * the owner). A row's room is created by another admin; "caller added" means the caller is an
 * explicit room member, "created by the caller" that the caller made it. Outsiders and the global
 * admin are in no org: "caller added" gives them a room membership their missing org membership
 * must not outweigh.
 */
// biome-ignore format: keep the table aligned
const STATUS = {
  //                                                         bad      outsider guest    member   admin    owner    global
  "POST /v1/orgs/:orgId/rooms, public":                     [401,     404,     403,     201,     201,     201,     404],
  "POST /v1/orgs/:orgId/rooms, private":                    [401,     404,     403,     201,     201,     201,     404],
  "GET /v1/orgs/:orgId/rooms":                              [401,     404,     200,     200,     200,     200,     404],
  "GET room: public":                                       [401,     404,     404,     200,     200,     200,     404],
  "GET room: public, caller added":                         [401,     404,     200,     200,     200,     200,     404],
  "GET room: private":                                      [401,     404,     404,     404,     200,     200,     404],
  "GET room: private, caller added":                        [401,     404,     200,     200,     200,     200,     404],
  "GET room: no such room":                                 [401,     404,     404,     404,     404,     404,     404],
  "GET room: a malformed id":                               [401,     400,     400,     400,     400,     400,     400],
  "PATCH room: public":                                     [401,     404,     404,     403,     200,     200,     404],
  "PATCH room: private":                                    [401,     404,     404,     404,     200,     200,     404],
  "PATCH room: private, caller added":                      [401,     404,     403,     403,     200,     200,     404],
  "PATCH room: created by the caller":                      [401,     404,     403,     200,     200,     200,     404],
  "DELETE room: public":                                    [401,     404,     404,     403,     204,     204,     404],
  "DELETE room: private":                                   [401,     404,     404,     404,     204,     204,     404],
  "DELETE room: private, caller added":                     [401,     404,     403,     403,     204,     204,     404],
  "DELETE room: created by the caller":                     [401,     404,     403,     204,     204,     204,     404],
  "POST room member: a member, private":                    [401,     404,     404,     404,     204,     204,     404],
  "POST room member: a member, private, caller added":      [401,     404,     403,     403,     204,     204,     404],
  "POST room member: the guest, created by the caller":     [401,     404,     403,     204,     204,     204,     404],
  "POST room member: someone not in the org":               [401,     404,     403,     404,     404,     404,     404],
  "DELETE room member: a member, private":                  [401,     404,     404,     404,     204,     204,     404],
  "DELETE room member: a member, private, caller added":    [401,     404,     403,     403,     204,     204,     404],
  "DELETE room member: oneself (leave), private":           [401,     404,     204,     204,     204,     204,     404],
  "DELETE room member: someone not in the room":            [401,     404,     403,     404,     404,     404,     404],
  "POST read position: public":                             [401,     404,     404,     204,     204,     204,     404],
  "POST read position: private":                            [401,     404,     404,     404,     204,     204,     404],
  "POST read position: private, caller added":              [401,     404,     204,     204,     204,     204,     404],
  "GET messages: public":                                   [401,     404,     404,     200,     200,     200,     404],
  "GET messages: public, caller added":                     [401,     404,     200,     200,     200,     200,     404],
  "GET messages: private":                                  [401,     404,     404,     404,     200,     200,     404],
  "GET messages: private, caller added":                    [401,     404,     200,     200,     200,     200,     404],
  "POST message: public":                                   [401,     404,     404,     201,     201,     201,     404],
  "POST message: public, caller added":                     [401,     404,     201,     201,     201,     201,     404],
  "POST message: private":                                  [401,     404,     404,     404,     201,     201,     404],
  "POST message: private, caller added":                    [401,     404,     201,     201,     201,     201,     404],
  "PATCH message: own":                                     [401,     404,     200,     200,     200,     200,     404],
  "PATCH message: own, deleted (tombstone)":                [401,     404,     409,     409,     409,     409,     404],
  "PATCH message: another's":                               [401,     404,     403,     403,     403,     403,     404],
  "PATCH message: another's, private":                      [401,     404,     404,     404,     403,     403,     404],
  "PATCH message: no such message":                         [401,     404,     404,     404,     404,     404,     404],
  "DELETE message: own":                                    [401,     404,     204,     204,     204,     204,     404],
  "DELETE message: another's":                              [401,     404,     403,     403,     204,     204,     404],
  "DELETE message: another's, public":                      [401,     404,     404,     403,     204,     204,     404],
  "DELETE message: another's, private":                     [401,     404,     404,     404,     204,     204,     404],
  "POST realtime ticket: public room":                      [401,     404,     404,     200,     200,     200,     404],
  "POST realtime ticket: private room":                     [401,     404,     404,     404,     200,     200,     404],
  "POST realtime ticket: private room, caller added":       [401,     404,     200,     200,     200,     200,     404],
} satisfies Record<string, StatusRow>;

type Where =
  | "public"
  | "public, caller added"
  | "private"
  | "private, caller added"
  | "created by the caller";

/** The row's room: made by the second admin unless the caller made it; `members` are added too. */
function room(w: World, where: Where, opts: { members?: TestUser[]; messagesBy?: TestUser[] } = {}) {
  const added = where.endsWith("caller added") ? [w.self] : [];
  return insertRoom(w.orgId, {
    visibility: where.startsWith("private") ? "private" : "public",
    createdBy: where === "created by the caller" ? w.self : w.cast.admin2,
    members: [...added, ...(opts.members ?? [])],
    messages: (opts.messagesBy ?? []).map((author) => ({ author })),
  });
}

const createRoom = (visibility: "public" | "private") => (w: World) => {
  const name = `Made ${uuidv7()}`;
  return {
    method: "POST",
    path: `/v1/orgs/${w.orgId}/rooms`,
    body: { name, visibility },
    check: async (status, res) => {
      if (!isSuccess(status)) return;
      const made = await roomRow(((await res.json()) as { id: string }).id);
      expect(made).toMatchObject({ name, visibility, orgId: w.orgId, createdBy: w.self.id });
    },
  } satisfies MatrixRequest;
};

/** Which of the list fixture's rooms each kind of caller sees (the others see no list at all). */
const LISTED: Partial<Record<CallerKind, Where[]>> = {
  guest: ["public, caller added", "private, caller added"],
  member: ["public", "public, caller added", "private, caller added"],
  admin: ["public", "public, caller added", "private", "private, caller added"],
  owner: ["public", "public, caller added", "private", "private, caller added"],
};
const listRooms = async (w: World): Promise<MatrixRequest> => {
  const wheres: Where[] = ["public", "public, caller added", "private", "private, caller added"];
  const made = new Map<string, Where>();
  for (const where of wheres) made.set((await room(w, where)).id, where);
  return {
    method: "GET",
    path: `/v1/orgs/${w.orgId}/rooms`,
    check: async (status, res) => {
      if (status !== 200) return;
      const { items } = (await res.json()) as { items: Array<{ id: string }> };
      expect(items.map((r) => made.get(r.id)).sort()).toEqual([...(LISTED[w.kind] ?? [])].sort());
    },
  };
};

const getRoom =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    return {
      method: "GET",
      path: `/v1/rooms/${r.id}`,
      check: async (status, res) => {
        if (isSuccess(status)) expect(((await res.json()) as { id: string }).id).toBe(r.id);
      },
    };
  };

const patchRoom =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    return {
      method: "PATCH",
      path: `/v1/rooms/${r.id}`,
      body: { name: "Renamed by the matrix" },
      check: async (status) => {
        expect((await roomRow(r.id))?.name).toBe(isSuccess(status) ? "Renamed by the matrix" : "Matrix room");
      },
    };
  };

const deleteRoom =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    return {
      method: "DELETE",
      path: `/v1/rooms/${r.id}`,
      check: async (status) => {
        expect(await roomRow(r.id), "the room is gone iff deleted").toEqual(
          isSuccess(status) ? undefined : expect.anything(),
        );
      },
    };
  };

const addMember =
  (where: Where, target: (w: World) => TestUser) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    const userId = target(w).id;
    const before = await isRoomMember(r.id, userId);
    return {
      method: "POST",
      path: `/v1/rooms/${r.id}/members`,
      body: { userId },
      check: async (status) => expect(await isRoomMember(r.id, userId)).toBe(isSuccess(status) || before),
    };
  };

const removeMember =
  (where: Where, target: (w: World) => TestUser, inRoom = true) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where, { members: inRoom ? [target(w)] : [] });
    const userId = target(w).id;
    return {
      method: "DELETE",
      path: `/v1/rooms/${r.id}/members/${userId}`,
      check: async (status) => expect(await isRoomMember(r.id, userId)).toBe(inRoom && !isSuccess(status)),
    };
  };

const markRead =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where, { messagesBy: [w.cast.admin2, w.cast.admin2, w.cast.admin2] });
    return {
      method: "POST",
      path: `/v1/rooms/${r.id}/read`,
      body: { seq: 2 },
      check: async (status) =>
        expect(await lastReadSeq(r.id, w.self.id)).toBe(isSuccess(status) ? 2 : undefined),
    };
  };

const history =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where, { messagesBy: [w.cast.admin2, w.cast.member2] });
    return {
      method: "GET",
      path: `/v1/rooms/${r.id}/messages`,
      check: async (status, res) => {
        if (!isSuccess(status)) return;
        const { items } = (await res.json()) as { items: Array<{ id: string }> };
        expect(items.map((m) => m.id)).toEqual(r.messages);
      },
    };
  };

const postMessage =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    const clientId = crypto.randomUUID();
    return {
      method: "POST",
      path: `/v1/rooms/${r.id}/messages`,
      body: { body: "posted by the matrix", clientId },
      check: async (status) => {
        const stored = (await messagesOf(r.id)).filter((m) => m.clientId === clientId);
        expect(stored.map((m) => [m.authorId, m.body, m.seq])).toEqual(
          isSuccess(status) ? [[w.self.id, "posted by the matrix", 1]] : [],
        );
        expect((await roomRow(r.id))?.lastSeq).toBe(isSuccess(status) ? 1 : 0);
      },
    };
  };

/** A message in the row's room, by the caller ("own") or by the second member. */
async function messageIn(w: World, where: Where, own: boolean, deleted = false) {
  const author = own ? w.self : w.cast.member2;
  const r: RoomFixture = await insertRoom(w.orgId, {
    visibility: where.startsWith("private") ? "private" : "public",
    createdBy: w.cast.admin2,
    members: where.endsWith("caller added") ? [w.self, author] : [author],
    messages: [{ author, deleted }],
  });
  return r.messages[0]!;
}

const editMessage =
  (where: Where, own: boolean, deleted = false) =>
  async (w: World): Promise<MatrixRequest> => {
    const id = await messageIn(w, where, own, deleted);
    const before = (await messageRow(id))!.body;
    return {
      method: "PATCH",
      path: `/v1/messages/${id}`,
      body: { body: "edited by the matrix" },
      check: async (status) => {
        const m = await messageRow(id);
        expect([m?.body, m?.editedAt !== null]).toEqual(
          isSuccess(status) ? ["edited by the matrix", true] : [before, false],
        );
      },
    };
  };

const deleteMessage =
  (where: Where, own: boolean) =>
  async (w: World): Promise<MatrixRequest> => {
    const id = await messageIn(w, where, own);
    return {
      method: "DELETE",
      path: `/v1/messages/${id}`,
      check: async (status) => {
        const m = await messageRow(id);
        // A tombstone keeps id and seq, empties the body, sets deletedAt.
        expect([m?.seq, m?.body, m?.deletedAt !== null]).toEqual(
          isSuccess(status) ? [1, "", true] : [1, "message 1", false],
        );
      },
    };
  };

/** A ticket for the room's realtime channel: the same visibility as the room itself. */
const ticket =
  (where: Where) =>
  async (w: World): Promise<MatrixRequest> => {
    const r = await room(w, where);
    return {
      method: "POST",
      path: "/v1/realtime/tickets",
      body: { channel: `room:${r.id}` },
      check: async (status, res) => {
        if (isSuccess(status)) expect(((await res.json()) as { url: string }).url).toContain("ticket=");
      },
    };
  };

const REQUESTS: Record<keyof typeof STATUS, RouteSpec["request"]> = {
  "POST /v1/orgs/:orgId/rooms, public": createRoom("public"),
  "POST /v1/orgs/:orgId/rooms, private": createRoom("private"),
  "GET /v1/orgs/:orgId/rooms": listRooms,
  "GET room: public": getRoom("public"),
  "GET room: public, caller added": getRoom("public, caller added"),
  "GET room: private": getRoom("private"),
  "GET room: private, caller added": getRoom("private, caller added"),
  "GET room: no such room": () => ({ method: "GET", path: `/v1/rooms/${uuidv7()}` }),
  "GET room: a malformed id": () => ({ method: "GET", path: "/v1/rooms/not-a-uuid" }),
  "PATCH room: public": patchRoom("public"),
  "PATCH room: private": patchRoom("private"),
  "PATCH room: private, caller added": patchRoom("private, caller added"),
  "PATCH room: created by the caller": patchRoom("created by the caller"),
  "DELETE room: public": deleteRoom("public"),
  "DELETE room: private": deleteRoom("private"),
  "DELETE room: private, caller added": deleteRoom("private, caller added"),
  "DELETE room: created by the caller": deleteRoom("created by the caller"),
  "POST room member: a member, private": addMember("private", (w) => w.cast.member2),
  "POST room member: a member, private, caller added": addMember(
    "private, caller added",
    (w) => w.cast.member2,
  ),
  "POST room member: the guest, created by the caller": addMember(
    "created by the caller",
    (w) => w.cast.guest,
  ),
  "POST room member: someone not in the org": addMember("created by the caller", (w) => w.cast.outsider),
  "DELETE room member: a member, private": removeMember("private", (w) => w.cast.member2),
  "DELETE room member: a member, private, caller added": removeMember(
    "private, caller added",
    (w) => w.cast.member2,
  ),
  "DELETE room member: oneself (leave), private": removeMember("private", (w) => w.self),
  "DELETE room member: someone not in the room": removeMember(
    "created by the caller",
    (w) => w.cast.member2,
    false,
  ),
  "POST read position: public": markRead("public"),
  "POST read position: private": markRead("private"),
  "POST read position: private, caller added": markRead("private, caller added"),
  "GET messages: public": history("public"),
  "GET messages: public, caller added": history("public, caller added"),
  "GET messages: private": history("private"),
  "GET messages: private, caller added": history("private, caller added"),
  "POST message: public": postMessage("public"),
  "POST message: public, caller added": postMessage("public, caller added"),
  "POST message: private": postMessage("private"),
  "POST message: private, caller added": postMessage("private, caller added"),
  "PATCH message: own": editMessage("public, caller added", true),
  "PATCH message: own, deleted (tombstone)": editMessage("public, caller added", true, true),
  "PATCH message: another's": editMessage("public, caller added", false),
  "PATCH message: another's, private": editMessage("private", false),
  "PATCH message: no such message": () => ({
    method: "PATCH",
    path: `/v1/messages/${uuidv7()}`,
    body: { body: "x" },
  }),
  "DELETE message: own": deleteMessage("public, caller added", true),
  "DELETE message: another's": deleteMessage("public, caller added", false),
  "DELETE message: another's, public": deleteMessage("public", false),
  "DELETE message: another's, private": deleteMessage("private", false),
  "POST realtime ticket: public room": ticket("public"),
  "POST realtime ticket: private room": ticket("private"),
  "POST realtime ticket: private room, caller added": ticket("private, caller added"),
};

describe("role matrix: every room, message and realtime-ticket route × every caller", () => {
  runRoleMatrix(routeSpecs(STATUS, REQUESTS));

  // Runs after the matrix: a route added to these features without a row fails here.
  it("has a row for every operation tagged Rooms, Messages or Realtime in /openapi.json", async () => {
    await expectEveryOperationExercised(["Rooms", "Messages", "Realtime"], 12);
  });
});
