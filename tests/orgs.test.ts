import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { invitations, memberships } from "../src/db/schema.ts";
import { ID_PATTERN } from "../src/lib/ids.ts";
import type { MemberView } from "../src/services/orgs/members.ts";
import { api } from "./helpers/api.ts";
import {
  addMember,
  authed,
  collectPages,
  createOrg,
  insertInvitation,
  type Org,
  type OrgRole,
  testDb,
} from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser, type TestUser } from "./helpers/users.ts";

type Member = MemberView;

const uniq = () => crypto.randomUUID().slice(0, 8);
const setRole = (as: TestUser, orgId: string, userId: string, role: OrgRole) =>
  api(`/v1/orgs/${orgId}/members/${userId}`, authed(as.accessToken, "PATCH", { role }));
const remove = (as: TestUser, orgId: string, userId: string) =>
  api(`/v1/orgs/${orgId}/members/${userId}`, authed(as.accessToken, "DELETE"));
async function roleOf(orgId: string, userId: string) {
  const [m] = await testDb()
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return m?.role;
}

describe("orgs", () => {
  it("creates an org with a slug derived from the name; the creator is its owner", async () => {
    const owner = await registerUser();
    const name = `Analytical Engines ${uniq()}`;
    const res = await api("/v1/orgs", authed(owner.accessToken, "POST", { name: `  ${name} ` }));
    expect(res.status).toBe(201);
    const org = (await res.json()) as Org;
    expect(org).toMatchObject({ name, slug: name.toLowerCase().replaceAll(" ", "-"), role: "owner" });
    expect(org.id).toMatch(ID_PATTERN);
    const got = await api(`/v1/orgs/${org.id}`, bearer(owner.accessToken));
    expect(await got.json()).toEqual(org);
    expect(await roleOf(org.id, owner.id)).toBe("owner");
  });

  it("refuses a taken explicit slug with 409, and suffixes a taken derived one", async () => {
    const a = await registerUser();
    const slug = `taken-${uniq()}`;
    await createOrg(a, { name: "First", slug });
    const dup = await api("/v1/orgs", authed(a.accessToken, "POST", { name: "Second", slug }));
    const problem = await expectProblem(dup, 409, "conflict");
    expect(problem.errors).toEqual([{ path: "slug", message: "already taken" }]);
    const derived = await createOrg(a, { name: slug });
    expect(derived.slug).toMatch(new RegExp(`^${slug}-\\d+$`));
  });

  it("validates the body strictly", async () => {
    const u = await registerUser();
    for (const body of [
      {},
      { name: "" },
      { name: "X", slug: "No Caps" },
      { name: "X", slug: "ab" },
      { name: "X", extra: 1 },
    ]) {
      await expectProblem(
        await api("/v1/orgs", authed(u.accessToken, "POST", body)),
        400,
        "validation_failed",
      );
    }
  });

  it("renames, changes the slug (409 when taken) and deletes; a deleted org is 404", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const other = await createOrg(owner, { name: "Other", slug: `other-${uniq()}` });
    const slug = `renamed-${uniq()}`;
    const res = await api(
      `/v1/orgs/${org.id}`,
      authed(owner.accessToken, "PATCH", { name: "Renamed", slug }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: org.id, name: "Renamed", slug, role: "owner" });
    const clash = await api(`/v1/orgs/${org.id}`, authed(owner.accessToken, "PATCH", { slug: other.slug }));
    await expectProblem(clash, 409, "conflict");
    await insertInvitation(org.id, `gone-${uniq()}@example.test`, "member");
    expect((await api(`/v1/orgs/${org.id}`, authed(owner.accessToken, "DELETE"))).status).toBe(204);
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(owner.accessToken)), 404, "not_found");
    expect(await roleOf(org.id, owner.id)).toBeUndefined();
    expect(await testDb().select().from(invitations).where(eq(invitations.orgId, org.id))).toEqual([]);
    const mine = await collectPages<Org>(owner.accessToken, "/v1/orgs", 50);
    expect(mine.items.map((o) => o.id)).toEqual([other.id]);
  });

  it("lists my orgs with my role, page by page with limit=1", async () => {
    const me = await registerUser();
    const boss = await registerUser();
    const a = await createOrg(me, { name: "A" });
    const b = await createOrg(boss, { name: "B" });
    await addMember(b.id, me, "guest");
    const c = await createOrg(me, { name: "C" });
    await createOrg(boss, { name: "Not mine" });
    const { pages, items } = await collectPages<Org>(me.accessToken, "/v1/orgs", 1);
    expect(items.map((o) => [o.id, o.role])).toEqual([
      [a.id, "owner"],
      [b.id, "guest"],
      [c.id, "owner"],
    ]);
    expect(pages.map((p) => p.items.length)).toEqual([1, 1, 1]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    for (const q of ["limit=0", "limit=101", "limit=1.0", "cursor=nope", "other=1"]) {
      await expectProblem(await api(`/v1/orgs?${q}`, bearer(me.accessToken)), 400, "validation_failed");
    }
  });
});

describe("members", () => {
  async function orgWith(...roles: OrgRole[]) {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const users: TestUser[] = [];
    for (const role of roles) {
      const u = await registerUser();
      await addMember(org.id, u, role);
      users.push(u);
    }
    return { owner, org, users };
  }

  it("lists members page by page; emails only for admins and owners", async () => {
    const { owner, org, users } = await orgWith("admin", "member", "guest");
    const [admin, member] = users as [TestUser, TestUser, TestUser];
    const seen = await collectPages<Member>(owner.accessToken, `/v1/orgs/${org.id}/members`, 1);
    expect(seen.pages).toHaveLength(4);
    expect(new Set(seen.items.map((m) => m.userId))).toEqual(new Set([owner.id, ...users.map((u) => u.id)]));
    const mine = seen.items.find((m) => m.userId === member.id)!;
    expect(mine).toEqual({
      userId: member.id,
      name: expect.any(String),
      handle: member.handle,
      role: "member",
      joinedAt: expect.any(String),
      email: member.email,
    });
    const asAdmin = await collectPages<Member>(admin.accessToken, `/v1/orgs/${org.id}/members`, 50);
    expect(asAdmin.items.every((m) => typeof m.email === "string")).toBe(true);
    const asMember = await collectPages<Member>(member.accessToken, `/v1/orgs/${org.id}/members`, 50);
    expect(asMember.items).toHaveLength(4);
    expect(asMember.items.some((m) => "email" in m)).toBe(false);
  });

  it("an admin manages members and guests, up to admin, but not other admins", async () => {
    const { org, users } = await orgWith("admin", "member", "admin");
    const [admin, member, otherAdmin] = users as [TestUser, TestUser, TestUser];
    const up = await setRole(admin, org.id, member.id, "admin");
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ userId: member.id, role: "admin", email: member.email });
    await expectProblem(await setRole(admin, org.id, member.id, "member"), 403, "forbidden");
    await expectProblem(await setRole(admin, org.id, otherAdmin.id, "guest"), 403, "forbidden");
    await expectProblem(await remove(admin, org.id, otherAdmin.id), 403, "forbidden");
    expect(await roleOf(org.id, otherAdmin.id)).toBe("admin");
  });

  it("a demotion applies to the very next request (roles are read from the database)", async () => {
    const { owner, org, users } = await orgWith("member");
    const [member] = users as [TestUser];
    expect((await api(`/v1/orgs/${org.id}/members`, bearer(member.accessToken))).status).toBe(200);
    expect((await setRole(owner, org.id, member.id, "guest")).status).toBe(200);
    await expectProblem(
      await api(`/v1/orgs/${org.id}/members`, bearer(member.accessToken)),
      403,
      "forbidden",
    );
    expect((await remove(owner, org.id, member.id)).status).toBe(204);
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(member.accessToken)), 404, "not_found");
  });

  it("transfers ownership: the new owner is a co-owner, the old one steps down; the last owner stays", async () => {
    const { owner, org, users } = await orgWith("member");
    const [heir] = users as [TestUser];
    await expectProblem(await setRole(owner, org.id, owner.id, "admin"), 409, "conflict");
    expect((await setRole(owner, org.id, heir.id, "owner")).status).toBe(200);
    const down = await setRole(owner, org.id, owner.id, "admin");
    expect(down.status).toBe(200);
    expect(await down.json()).toMatchObject({ userId: owner.id, role: "admin" });
    await expectProblem(await setRole(owner, org.id, owner.id, "owner"), 403, "forbidden");
    await expectProblem(await setRole(heir, org.id, heir.id, "member"), 409, "conflict");
    await expectProblem(await remove(heir, org.id, heir.id), 409, "conflict");
    expect(await roleOf(org.id, heir.id)).toBe("owner");
    expect((await remove(heir, org.id, owner.id)).status).toBe(204);
  });

  it("members leave; removed and departed members lose access; unknown members are 404", async () => {
    const { owner, org, users } = await orgWith("member", "guest", "admin");
    const [member, guest, admin] = users as [TestUser, TestUser, TestUser];
    expect((await remove(guest, org.id, guest.id)).status).toBe(204);
    expect((await remove(admin, org.id, member.id)).status).toBe(204);
    for (const u of [member, guest]) {
      await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(u.accessToken)), 404, "not_found");
      expect(await roleOf(org.id, u.id)).toBeUndefined();
    }
    await expectProblem(await remove(owner, org.id, member.id), 404, "not_found");
    await expectProblem(await setRole(owner, org.id, member.id, "member"), 404, "not_found");
    await expectProblem(await remove(owner, org.id, "NOT-AN-ID"), 400, "validation_failed");
    await expectProblem(await remove(owner, org.id, owner.id), 409, "conflict");
  });

  it("two owners leaving at the same time: exactly one succeeds, the org keeps an owner", async () => {
    const { owner, org, users } = await orgWith("owner");
    const [second] = users as [TestUser];
    const results = await Promise.all([remove(owner, org.id, owner.id), remove(second, org.id, second.id)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([204, 409]);
    const owners = await testDb()
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, org.id), eq(memberships.role, "owner")));
    expect(owners).toHaveLength(1);
  });
});
