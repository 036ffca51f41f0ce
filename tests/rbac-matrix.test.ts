import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../src/db/schema.ts";
import { nowIso } from "../src/lib/ids.ts";
import {
  can,
  canGrant,
  canManage,
  ORG_ACTIONS,
  ORG_ROLES,
  type OrgAction,
  type OrgRole,
} from "../src/services/orgs/rbac.ts";
import {
  insertInvitation,
  insertOrg,
  invitationRows,
  orgRow,
  roleIn,
  testDb,
  userRow,
} from "./helpers/orgs.ts";
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
import { registerUser } from "./helpers/users.ts";

const fresh = () => `invitee-${crypto.randomUUID()}@example.test`;
const org = (w: World) => `/v1/orgs/${w.orgId}`;
const member = (w: World, userId: string) => `${org(w)}/members/${userId}`;

/**
 * THE table: route × caller → exact status; every cell is its own test, in a fresh org.
 * "bad" stands for the five bad-credential callers (no token, garbage, forged signature,
 * tampered payload, revoked session); "outsider" is signed in but not a member; "global" is a
 * global admin who is not a member of the org.
 */
// biome-ignore format: keep the table aligned
const STATUS = {
  //                                                         bad      outsider guest    member   admin    owner    global
  "POST /v1/orgs":                                          [401,     201,     201,     201,     201,     201,     201],
  "GET /v1/orgs":                                           [401,     200,     200,     200,     200,     200,     200],
  "GET /v1/orgs/:orgId":                                    [401,     404,     200,     200,     200,     200,     404],
  "GET /v1/orgs/:orgId with a malformed id":                [401,     400,     400,     400,     400,     400,     400],
  "PATCH /v1/orgs/:orgId":                                  [401,     404,     403,     403,     200,     200,     404],
  "DELETE /v1/orgs/:orgId":                                 [401,     404,     403,     403,     403,     204,     404],
  "GET /v1/orgs/:orgId/members":                            [401,     404,     403,     200,     200,     200,     404],
  "PATCH member: member → guest":                           [401,     404,     403,     403,     200,     200,     404],
  "PATCH member: guest → member":                           [401,     404,     403,     403,     200,     200,     404],
  "PATCH member: member → admin":                           [401,     404,     403,     403,     200,     200,     404],
  "PATCH member: member → owner (ownership transfer)":      [401,     404,     403,     403,     403,     200,     404],
  "PATCH member: another admin → member":                   [401,     404,     403,     403,     403,     200,     404],
  "PATCH member: the sole owner → admin":                   [401,     404,     403,     403,     403,     409,     404],
  "PATCH member: own role → owner":                         [401,     404,     403,     403,     403,     200,     404],
  "PATCH member: own role → guest":                         [401,     404,     403,     403,     200,     409,     404],
  "PATCH member: someone not in the org":                   [401,     404,     403,     403,     404,     404,     404],
  "DELETE member: a member":                                [401,     404,     403,     403,     204,     204,     404],
  "DELETE member: another admin":                           [401,     404,     403,     403,     403,     204,     404],
  "DELETE member: the sole owner":                          [401,     404,     403,     403,     403,     409,     404],
  "DELETE member: oneself (leave)":                         [401,     404,     204,     204,     204,     409,     404],
  "DELETE member: someone not in the org":                  [401,     404,     403,     403,     404,     404,     404],
  "POST invitation as member":                              [401,     404,     403,     403,     201,     201,     404],
  "POST invitation as admin":                               [401,     404,     403,     403,     201,     201,     404],
  "POST invitation as owner":                               [401,     404,     403,     403,     403,     201,     404],
  "GET /v1/orgs/:orgId/invitations":                        [401,     404,     403,     403,     200,     200,     404],
  "DELETE a member invitation":                             [401,     404,     403,     403,     204,     204,     404],
  "DELETE an owner invitation":                             [401,     404,     403,     403,     403,     204,     404],
  "DELETE an invitation of another org":                    [401,     404,     403,     403,     404,     404,     404],
  "POST /v1/invitations/:token/accept, sent to the caller": [401,     200,     409,     409,     409,     409,     200],
  "POST /v1/invitations/:token/accept, sent to another":    [401,     403,     403,     403,     403,     403,     403],
  "GET /v1/admin/users":                                    [401,     403,     403,     403,     403,     403,     200],
  "PATCH /v1/admin/users/:userId":                          [401,     403,     403,     403,     403,     403,     200],
  "GET /v1/admin/audit-log":                                [401,     403,     403,     403,     403,     403,     200],
} satisfies Record<string, StatusRow>;

/** A role change, read back: the new role iff it succeeded, else the role it had. */
const patchMember = (userId: (w: World) => string, role: OrgRole) => async (w: World) => {
  const target = userId(w);
  const before = await roleIn(w.orgId, target);
  return {
    method: "PATCH",
    path: member(w, target),
    body: { role },
    check: async (status) => expect(await roleIn(w.orgId, target)).toBe(isSuccess(status) ? role : before),
  } satisfies MatrixRequest;
};
const deleteMember = (userId: (w: World) => string) => async (w: World) => {
  const target = userId(w);
  const before = await roleIn(w.orgId, target);
  return {
    method: "DELETE",
    path: member(w, target),
    check: async (status) =>
      expect(await roleIn(w.orgId, target)).toBe(isSuccess(status) ? undefined : before),
  } satisfies MatrixRequest;
};
const inviteAs = (role: OrgRole) => (w: World) => {
  const email = fresh();
  return {
    method: "POST",
    path: `${org(w)}/invitations`,
    body: { email, role },
    check: async (status) => {
      const rows = (await invitationRows(w.orgId)).filter((i) => i.email === email);
      expect(rows.map((i) => [i.role, i.invitedBy])).toEqual(isSuccess(status) ? [[role, w.self.id]] : []);
    },
  } satisfies MatrixRequest;
};
const revokeIn = (orgOf: (w: World) => Promise<string>, role: OrgRole) => async (w: World) => {
  const inOrg = await orgOf(w);
  const inv = await insertInvitation(inOrg, fresh(), role);
  return {
    method: "DELETE",
    path: `${org(w)}/invitations/${inv.id}`,
    check: async (status) => {
      const row = (await invitationRows(inOrg)).find((i) => i.id === inv.id);
      expect(row?.revokedAt ?? null).toEqual(isSuccess(status) ? expect.any(String) : null);
    },
  } satisfies MatrixRequest;
};
const acceptSentTo = (email: (w: World) => string) => async (w: World) => {
  const inv = await insertInvitation(w.orgId, email(w), "member");
  // Accepting needs a verified email; the matrix is about roles, so every caller has one.
  await testDb().update(users).set({ emailVerifiedAt: nowIso() }).where(eq(users.id, w.self.id));
  const before = await roleIn(w.orgId, w.self.id);
  return {
    method: "POST",
    path: `/v1/invitations/${inv.token}/accept`,
    check: async (status) => {
      expect(await roleIn(w.orgId, w.self.id)).toBe(isSuccess(status) ? "member" : before);
      const row = (await invitationRows(w.orgId)).find((i) => i.id === inv.id);
      expect(row?.acceptedBy ?? null).toBe(isSuccess(status) ? w.self.id : null);
    },
  } satisfies MatrixRequest;
};
const thisOrg = async (w: World) => w.orgId;

/** How each row calls its route; `w.self` is the caller (or whom bad credentials claim to be). */
const REQUESTS: Record<keyof typeof STATUS, RouteSpec["request"]> = {
  "POST /v1/orgs": () => ({ method: "POST", path: "/v1/orgs", body: { name: "Matrix made" } }),
  "GET /v1/orgs": () => ({ method: "GET", path: "/v1/orgs" }),
  "GET /v1/orgs/:orgId": (w) => ({ method: "GET", path: org(w) }),
  "GET /v1/orgs/:orgId with a malformed id": () => ({ method: "GET", path: "/v1/orgs/not-a-uuid" }),
  "PATCH /v1/orgs/:orgId": async (w) => {
    const before = (await orgRow(w.orgId))?.name;
    return {
      method: "PATCH",
      path: org(w),
      body: { name: "Renamed" },
      check: async (status) =>
        expect((await orgRow(w.orgId))?.name).toBe(isSuccess(status) ? "Renamed" : before),
    };
  },
  "DELETE /v1/orgs/:orgId": (w) => ({
    method: "DELETE",
    path: org(w),
    check: async (status) =>
      expect(await orgRow(w.orgId)).toEqual(isSuccess(status) ? undefined : expect.anything()),
  }),
  "GET /v1/orgs/:orgId/members": (w) => ({ method: "GET", path: `${org(w)}/members` }),
  "PATCH member: member → guest": patchMember((w) => w.cast.member2.id, "guest"),
  "PATCH member: guest → member": patchMember((w) => w.cast.guest.id, "member"),
  "PATCH member: member → admin": patchMember((w) => w.cast.member2.id, "admin"),
  "PATCH member: member → owner (ownership transfer)": patchMember((w) => w.cast.member2.id, "owner"),
  "PATCH member: another admin → member": patchMember((w) => w.cast.admin2.id, "member"),
  "PATCH member: the sole owner → admin": patchMember((w) => w.cast.owner.id, "admin"),
  "PATCH member: own role → owner": patchMember((w) => w.self.id, "owner"),
  "PATCH member: own role → guest": patchMember((w) => w.self.id, "guest"),
  "PATCH member: someone not in the org": patchMember((w) => w.cast.outsider.id, "member"),
  "DELETE member: a member": deleteMember((w) => w.cast.member2.id),
  "DELETE member: another admin": deleteMember((w) => w.cast.admin2.id),
  "DELETE member: the sole owner": deleteMember((w) => w.cast.owner.id),
  "DELETE member: oneself (leave)": deleteMember((w) => w.self.id),
  "DELETE member: someone not in the org": deleteMember((w) => w.cast.globalAdmin.id),
  "POST invitation as member": inviteAs("member"),
  "POST invitation as admin": inviteAs("admin"),
  "POST invitation as owner": inviteAs("owner"),
  "GET /v1/orgs/:orgId/invitations": (w) => ({ method: "GET", path: `${org(w)}/invitations` }),
  "DELETE a member invitation": revokeIn(thisOrg, "member"),
  "DELETE an owner invitation": revokeIn(thisOrg, "owner"),
  "DELETE an invitation of another org": revokeIn(async () => insertOrg(await registerUser()), "member"),
  "POST /v1/invitations/:token/accept, sent to the caller": acceptSentTo((w) => w.self.email),
  "POST /v1/invitations/:token/accept, sent to another": acceptSentTo(fresh),
  "GET /v1/admin/users": () => ({ method: "GET", path: "/v1/admin/users?q=user" }),
  "PATCH /v1/admin/users/:userId": async () => {
    const target = await registerUser();
    return {
      method: "PATCH",
      path: `/v1/admin/users/${target.id}`,
      body: { disabled: true },
      check: async (status) =>
        expect((await userRow(target.id))?.disabledAt ?? null).toEqual(
          isSuccess(status) ? expect.any(String) : null,
        ),
    };
  },
  "GET /v1/admin/audit-log": () => ({ method: "GET", path: "/v1/admin/audit-log?limit=5" }),
};

const ROUTES = routeSpecs(STATUS, REQUESTS);

describe("role matrix: every org, member, invitation and admin route × every caller", () => {
  runRoleMatrix(ROUTES);

  // Runs after the matrix: a route added to these features without a row fails here.
  it("has a row for every operation tagged Orgs, Invitations or Admin in /openapi.json", async () => {
    await expectEveryOperationExercised(["Orgs", "Invitations", "Admin"], 15);
  });
});

/** The permission table itself: every role × every action, spelled out. */
const EXPECTED: Record<OrgAction, Record<OrgRole, boolean>> = {
  "org.read": { owner: true, admin: true, member: true, guest: true },
  "org.update": { owner: true, admin: true, member: false, guest: false },
  "org.delete": { owner: true, admin: false, member: false, guest: false },
  "members.read": { owner: true, admin: true, member: true, guest: false },
  "members.read_email": { owner: true, admin: true, member: false, guest: false },
  "members.update_role": { owner: true, admin: true, member: false, guest: false },
  "members.remove": { owner: true, admin: true, member: false, guest: false },
  "members.leave": { owner: true, admin: true, member: true, guest: true },
  "invitations.create": { owner: true, admin: true, member: false, guest: false },
  "invitations.read": { owner: true, admin: true, member: false, guest: false },
  "invitations.revoke": { owner: true, admin: true, member: false, guest: false },
  "rooms.create": { owner: true, admin: true, member: true, guest: false },
  "rooms.read_public": { owner: true, admin: true, member: true, guest: false },
  "rooms.manage": { owner: true, admin: true, member: false, guest: false },
  "messages.moderate": { owner: true, admin: true, member: false, guest: false },
  "files.moderate": { owner: true, admin: true, member: false, guest: false },
  "webhooks.manage": { owner: true, admin: true, member: false, guest: false },
};

describe("permission table: every role × every action", () => {
  it("this test lists exactly the actions of the table", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ORG_ACTIONS].sort());
  });
  const rows = ORG_ACTIONS.flatMap((action) => ORG_ROLES.map((role) => [action, role] as const));
  it.each(rows)("can(%s) as %s", (action, role) => {
    expect(can(role, action)).toBe(EXPECTED[action][role]);
  });
  it("refuses an action that is not in the table (fails closed)", () => {
    expect(can("owner", "org.explode" as OrgAction)).toBe(false);
  });

  // actor → the roles it may grant / the roles it may manage (change or remove), highest first.
  const GRANTS: Record<OrgRole, OrgRole[]> = {
    owner: ["owner", "admin", "member", "guest"],
    admin: ["admin", "member", "guest"],
    member: ["member", "guest"],
    guest: ["guest"],
  };
  const MANAGES: Record<OrgRole, OrgRole[]> = {
    owner: ["owner", "admin", "member", "guest"],
    admin: ["member", "guest"],
    member: ["guest"],
    guest: [],
  };
  const pairs = ORG_ROLES.flatMap((actor) => ORG_ROLES.map((target) => [actor, target] as const));
  it.each(pairs)("canGrant(%s, %s): nobody grants above their own role", (actor, target) => {
    expect(canGrant(actor, target)).toBe(GRANTS[actor].includes(target));
  });
  it.each(pairs)("canManage(%s, %s): strictly below, owners manage everyone", (actor, target) => {
    expect(canManage(actor, target)).toBe(MANAGES[actor].includes(target));
  });
});
