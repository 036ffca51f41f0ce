import { describe, expect, it } from "vitest";
import { api, apiWithEnv } from "./helpers/api.ts";
import { addMember, authed, createOrg, insertInvitation, latestMail } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { createRoom } from "./helpers/realtime.ts";
import { bearer, registerUser, type TestUser } from "./helpers/users.ts";

/** Invitations as an attacker would use them: a leaked token, a stale right, spam, a rejoin. */
const newEmail = () => `invitee-${crypto.randomUUID()}@example.test`;
const accept = (as: TestUser, token: string) =>
  api(`/v1/invitations/${token}/accept`, authed(as.accessToken, "POST"));
const setRole = (by: TestUser, orgId: string, userId: string, role: string) =>
  api(`/v1/orgs/${orgId}/members/${userId}`, authed(by.accessToken, "PATCH", { role }));

describe("invitations: hardening", () => {
  it("a leaked token is useless to whoever registers the invited address without owning it", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const email = newEmail();
    const { token } = await insertInvitation(org.id, email, "member");
    const squatter = await registerUser({ email }); // registered the address, never verified it
    await expectProblem(await accept(squatter, token), 403, "email_not_verified");
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(squatter.accessToken)), 404, "not_found");
  });

  it("an invitation does not outlive its inviter's right to grant the role", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const admin = await registerUser();
    await addMember(org.id, admin, "admin");
    const email = newEmail();
    const res = await api(
      `/v1/orgs/${org.id}/invitations`,
      authed(admin.accessToken, "POST", { email, role: "admin" }),
    );
    expect(res.status).toBe(201);
    const { token } = await latestMail(email, /invited/);
    expect((await setRole(owner, org.id, admin.id, "member")).status).toBe(200); // may no longer grant admin
    const invitee = await registerUser({ email, verified: true });
    await expectProblem(await accept(invitee, token!), 410, "gone");
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(invitee.accessToken)), 404, "not_found");
  });

  it("rejoining an org does not restore the private rooms of the old membership", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const room = await createRoom(owner, org.id, "private", "secret");
    const member = await registerUser({ verified: true });
    await addMember(org.id, member, "member");
    const add = api(`/v1/rooms/${room.id}/members`, authed(owner.accessToken, "POST", { userId: member.id }));
    expect((await add).status).toBe(204);
    expect((await api(`/v1/rooms/${room.id}`, bearer(member.accessToken))).status).toBe(200);
    const removed = await api(`/v1/orgs/${org.id}/members/${member.id}`, authed(owner.accessToken, "DELETE"));
    expect(removed.status).toBe(204);
    const { token } = await insertInvitation(org.id, member.email, "member");
    expect((await accept(member, token)).status).toBe(200);
    await expectProblem(await api(`/v1/rooms/${room.id}`, bearer(member.accessToken)), 404, "not_found");
  });

  it("invitations are limited per inviting user and per org (429), and their mail carries no links", async () => {
    const env = { INVITE_RATE_LIMIT: "2", INVITE_ORG_RATE_LIMIT: "3" };
    const owner = await registerUser();
    const org = await createOrg(owner, {
      name: "Win a prize at evil.example\u202E now https://evil.example/x",
    });
    const admin = await registerUser();
    await addMember(org.id, admin, "admin");
    const invite = (by: TestUser, email = newEmail()) =>
      apiWithEnv(
        env,
        `/v1/orgs/${org.id}/invitations`,
        authed(by.accessToken, "POST", { email, role: "member" }),
      );
    const first = newEmail();
    expect((await invite(owner, first)).status).toBe(201);
    expect((await invite(owner)).status).toBe(201);
    await expectProblem(await invite(owner), 429, "rate_limited"); // the owner's own budget
    expect((await invite(admin)).status).toBe(201);
    await expectProblem(await invite(admin), 429, "rate_limited"); // the org's budget, 3
    const mail = await latestMail(first, /invited/);
    for (const part of [mail.subject, mail.text, mail.html]) {
      expect(part).not.toMatch(/https?:\/\/evil|evil\.example|\u202E/);
    }
    expect(mail.text).toContain("Win a prize at evil example");
  });
});
