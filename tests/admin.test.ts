import { beforeAll, describe, expect, it } from "vitest";
import { api, jsonBody } from "./helpers/api.ts";
import { authed, collectPages, createOrg, freshToken, registerGlobalAdmin } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, login, randomIp, registerUser, type TestUser } from "./helpers/users.ts";

interface AdminUser {
  id: string;
  email: string;
  name: string;
  handle: string;
  role: "user" | "admin";
  disabled: boolean;
  disabledAt: string | null;
}
interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  orgId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: Record<string, unknown> | null;
}

let admin: TestUser;
beforeAll(async () => {
  admin = await registerGlobalAdmin();
});

const patchUser = (userId: string, body: unknown, headers: Record<string, string> = {}) =>
  api(`/v1/admin/users/${userId}`, authed(admin.accessToken, "PATCH", body, headers));
const audit = async (query: string) =>
  (await collectPages<AuditEntry>(admin.accessToken, `/v1/admin/audit-log?${query}`, 100)).items;
const refresh = (u: TestUser) => api("/v1/auth/refresh", jsonBody({ refreshToken: u.refreshToken }));

describe("admin: users", () => {
  it("searches by email, handle, name and name-word prefix, page by page", async () => {
    const tag = `zq${crypto.randomUUID().slice(0, 6)}`;
    const a = await registerUser({ name: `${tag} Alpha`, handle: `${tag}_a` });
    const b = await registerUser({ name: `Beta ${tag}`, email: `${tag}-b@example.test` });
    const c = await registerUser({ name: "Gamma", handle: `${tag}_c` });
    await registerUser({ name: `x${tag}`, handle: `x${tag}` });
    const { pages, items } = await collectPages<AdminUser>(admin.accessToken, `/v1/admin/users?q=${tag}`, 1);
    expect(items.map((u) => u.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(pages).toHaveLength(3);
    expect(items.find((u) => u.id === b.id)).toMatchObject({
      email: b.email,
      role: "user",
      disabled: false,
      disabledAt: null,
    });
    const upper = await collectPages<AdminUser>(
      admin.accessToken,
      `/v1/admin/users?q=${tag.toUpperCase()}`,
      50,
    );
    expect(upper.items).toHaveLength(3);
  });

  it("treats % and _ in the query literally", async () => {
    for (const q of ["%25", "_", "%25zq"]) {
      const res = await api(`/v1/admin/users?q=${q}`, bearer(admin.accessToken));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
    }
  });

  it("disabling revokes every session: the access token gets 401 at once, refresh and login fail", async () => {
    const user = await registerUser();
    expect((await api("/v1/me", bearer(user.accessToken))).status).toBe(200);
    const res = await patchUser(user.id, { disabled: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: user.id, disabled: true, disabledAt: expect.any(String) });
    await expectProblem(await api("/v1/me", bearer(user.accessToken)), 401, "unauthorized");
    await expectProblem(await refresh(user), 401, "unauthorized");
    await expectProblem(await login(user.email), 401, "invalid_credentials");
    const back = await patchUser(user.id, { disabled: false });
    expect(await back.json()).toMatchObject({ disabled: false, disabledAt: null });
    expect((await login(user.email)).status).toBe(200);
    await expectProblem(await api("/v1/me", bearer(user.accessToken)), 401, "unauthorized");
  });

  it("a global role change revokes the user's sessions; the new token carries the role", async () => {
    const user = await registerUser();
    const res = await patchUser(user.id, { role: "admin" });
    expect(await res.json()).toMatchObject({ role: "admin", disabled: false });
    await expectProblem(await api("/v1/me", bearer(user.accessToken)), 401, "unauthorized");
    await expectProblem(await refresh(user), 401, "unauthorized");
    const promoted = await freshToken(user);
    expect((await api("/v1/admin/users?limit=1", bearer(promoted))).status).toBe(200);
    expect((await patchUser(user.id, { role: "user" })).status).toBe(200);
    await expectProblem(await api("/v1/admin/users?limit=1", bearer(promoted)), 401, "unauthorized");
    const demoted = await freshToken(user);
    await expectProblem(await api("/v1/admin/users?limit=1", bearer(demoted)), 403, "forbidden");
  });

  it("an admin cannot demote or disable themselves; bad input and unknown users", async () => {
    await expectProblem(await patchUser(admin.id, { role: "user" }), 409, "conflict");
    await expectProblem(await patchUser(admin.id, { disabled: true }), 409, "conflict");
    expect((await api("/v1/me", bearer(admin.accessToken))).status).toBe(200);
    const user = await registerUser();
    for (const body of [{}, { role: "root" }, { disabled: "yes" }, { role: "user", extra: true }]) {
      await expectProblem(await patchUser(user.id, body), 400, "validation_failed");
    }
    await expectProblem(await patchUser(crypto.randomUUID(), { disabled: true }), 404, "not_found");
    await expectProblem(await patchUser("Not-An-Id", { disabled: true }), 400, "validation_failed");
  });
});

describe("admin: audit log", () => {
  it("records logins with actor, IP, user agent and request id", async () => {
    const user = await registerUser();
    const ip = randomIp();
    const requestId = `audit-login-${crypto.randomUUID()}`;
    const res = await api(
      "/v1/auth/login",
      jsonBody(
        { email: user.email, password: user.password },
        { headers: { "cf-connecting-ip": ip, "user-agent": "AuditTest/1.0", "x-request-id": requestId } },
      ),
    );
    expect(res.status).toBe(200);
    const entries = await audit(`actorId=${user.id}&action=user.login`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: "user.login",
      actorId: user.id,
      targetType: "session",
      ip,
      userAgent: "AuditTest/1.0",
      requestId,
    });
  });

  it("records role changes, disabling and the session revocations they cause, newest first", async () => {
    const user = await registerUser();
    const headers = {
      "cf-connecting-ip": "10.9.8.7",
      "user-agent": "AdminConsole/2",
      "x-request-id": `rc-${user.id}`,
    };
    expect((await patchUser(user.id, { role: "admin" }, headers)).status).toBe(200);
    await freshToken(user); // a new session, for the disabling to revoke
    expect((await patchUser(user.id, { disabled: true })).status).toBe(200);
    const mine = (await audit(`actorId=${admin.id}`)).filter(
      (e) => e.targetId === user.id || e.metadata?.userId === user.id,
    );
    // Newest first; within one request the order is only as fine as the clock (ms).
    expect(
      mine
        .slice(0, 2)
        .map((e) => e.action)
        .sort(),
    ).toEqual(["admin.user_disabled", "session.revoked"]);
    expect(
      mine
        .slice(2)
        .map((e) => e.action)
        .sort(),
    ).toEqual(["admin.user_role_changed", "session.revoked"]);
    const roleChange = mine.find((e) => e.action === "admin.user_role_changed");
    expect(roleChange).toMatchObject({
      actorId: admin.id,
      targetType: "user",
      targetId: user.id,
      ip: "10.9.8.7",
      userAgent: "AdminConsole/2",
      requestId: `rc-${user.id}`,
      metadata: { from: "user", to: "admin" },
    });
    const revocations = mine.filter((e) => e.action === "session.revoked").map((e) => e.metadata?.reason);
    expect(revocations).toEqual(["admin_disabled", "role_changed"]);
    const ordered = mine.map((e) => e.id);
    expect(ordered).toEqual([...ordered].sort().reverse());
    const filtered = await audit(`action=admin.user_disabled&actorId=${admin.id}`);
    expect(filtered.some((e) => e.targetId === user.id)).toBe(true);
    expect(filtered.every((e) => e.action === "admin.user_disabled")).toBe(true);
  });

  it("records org changes with the org id, and pages with limit=1", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    await api(`/v1/orgs/${org.id}`, authed(owner.accessToken, "PATCH", { name: "Audited" }));
    const { pages, items } = await collectPages<AuditEntry>(
      admin.accessToken,
      `/v1/admin/audit-log?actorId=${owner.id}`,
      1,
    );
    expect(items.map((e) => e.action)).toEqual(["org.updated", "org.created", "user.register"]);
    expect(items[0]).toMatchObject({ orgId: org.id, targetId: org.id, metadata: { fields: ["name"] } });
    expect(pages).toHaveLength(3);
    for (const q of ["actorId=nope", "action=DROP%20TABLE", "limit=0", "since=yesterday"]) {
      const res = await api(`/v1/admin/audit-log?${q}`, bearer(admin.accessToken));
      await expectProblem(res, 400, "validation_failed");
    }
  });
});
