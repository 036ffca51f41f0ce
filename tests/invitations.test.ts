import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Config } from "../src/config.ts";
import { invitations } from "../src/db/schema.ts";
import { sha256 } from "../src/lib/crypto.ts";
import { createLogger } from "../src/lib/log.ts";
import { createInvitation } from "../src/services/orgs/invitations.ts";
import { api } from "./helpers/api.ts";
import {
  addMember,
  authed,
  collectPages,
  createOrg,
  insertInvitation,
  latestMail,
  type Org,
  testDb,
} from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser, type TestUser, verifyEmail } from "./helpers/users.ts";

interface Invitation {
  id: string;
  orgId: string;
  email: string;
  role: string;
  invitedBy: string | null;
  expiresAt: string;
  createdAt: string;
}

const newEmail = () => `invitee-${crypto.randomUUID()}@example.test`;
const invite = (as: TestUser, orgId: string, email: string, role = "member") =>
  api(`/v1/orgs/${orgId}/invitations`, authed(as.accessToken, "POST", { email, role }));
const accept = (as: TestUser, token: string) =>
  api(`/v1/invitations/${token}/accept`, authed(as.accessToken, "POST"));
const pending = async (as: TestUser, orgId: string) =>
  (await collectPages<Invitation>(as.accessToken, `/v1/orgs/${orgId}/invitations`, 50)).items;

describe("invitations", () => {
  it("full flow: invite by mail, the invitee registers and accepts, and joins with the role", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner, { name: "Inviting Org" });
    const email = newEmail();
    const res = await invite(owner, org.id, email.toUpperCase(), "admin");
    expect(res.status).toBe(201);
    const inv = (await res.json()) as Invitation & { token?: string };
    expect(inv).toMatchObject({ orgId: org.id, email, role: "admin", invitedBy: owner.id });
    expect(inv).not.toHaveProperty("token");
    const days = (Date.parse(inv.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    expect((await pending(owner, org.id)).map((i) => i.id)).toEqual([inv.id]);

    const mail = await latestMail(email, /invited to Inviting Org/);
    expect(mail.text).toContain(`/invitations/${mail.token}`);
    const [row] = await testDb().select().from(invitations).where(eq(invitations.id, inv.id));
    expect(row?.tokenHash).toBe(await sha256(mail.token!));
    expect(JSON.stringify(row)).not.toContain(mail.token!);

    const invitee = await registerUser({ email });
    // The token proves access to the mailbox; the account must also have verified it.
    await expectProblem(await accept(invitee, mail.token!), 403, "email_not_verified");
    await verifyEmail(email);
    const ok = await accept(invitee, mail.token!);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: org.id, name: "Inviting Org", role: "admin" });
    const mine = await api(`/v1/orgs/${org.id}`, bearer(invitee.accessToken));
    expect(await mine.json()).toMatchObject({ role: "admin" });
    expect(await pending(owner, org.id)).toEqual([]);
    await expectProblem(await accept(invitee, mail.token!), 410, "gone");
  });

  it("matches the email case-insensitively and refuses another account's email with 403", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const email = newEmail();
    const mixed = email.replace("invitee", "InViTeE").replace("example.test", "Example.TEST");
    expect((await invite(owner, org.id, mixed)).status).toBe(201);
    const { token } = await latestMail(email, /invited/);
    const stranger = await registerUser();
    await expectProblem(await accept(stranger, token!), 403, "forbidden");
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(stranger.accessToken)), 404, "not_found");
    const invitee = await registerUser({ email: email.toUpperCase(), verified: true });
    expect((await accept(invitee, token!)).status).toBe(200);
  });

  it("an expired invitation is 410 and no longer pending", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const email = newEmail();
    const { id, token } = await insertInvitation(org.id, email, "member");
    const invitee = await registerUser({ email });
    await testDb()
      .update(invitations)
      .set({ expiresAt: new Date(Date.now() - 1000).toISOString() })
      .where(eq(invitations.id, id));
    await expectProblem(await accept(invitee, token), 410, "gone");
    expect(await pending(owner, org.id)).toEqual([]);
    await expectProblem(await api(`/v1/orgs/${org.id}`, bearer(invitee.accessToken)), 404, "not_found");
  });

  it("revokes: the token then answers 410, a second revoke 404", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const email = newEmail();
    const inv = (await (await invite(owner, org.id, email)).json()) as Invitation;
    const mail = await latestMail(email, /invited/);
    const del = () => api(`/v1/orgs/${org.id}/invitations/${inv.id}`, authed(owner.accessToken, "DELETE"));
    expect((await del()).status).toBe(204);
    expect(await pending(owner, org.id)).toEqual([]);
    await expectProblem(await del(), 404, "not_found");
    const invitee = await registerUser({ email });
    await expectProblem(await accept(invitee, mail.token!), 410, "gone");
  });

  it("unknown and malformed tokens; members already in; duplicates; roles above the inviter's", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const admin = await registerUser();
    await addMember(org.id, admin, "admin");
    await expectProblem(await accept(owner, "A".repeat(43)), 404, "not_found");
    await expectProblem(await accept(owner, "not%20a%20token"), 400, "validation_failed");

    await expectProblem(await invite(owner, org.id, admin.email.toUpperCase()), 409, "conflict");
    const { token } = await insertInvitation(org.id, admin.email, "member");
    await expectProblem(await accept(admin, token), 409, "conflict");

    const email = newEmail();
    expect((await invite(admin, org.id, email, "admin")).status).toBe(201);
    await expectProblem(await invite(owner, org.id, email, "guest"), 409, "conflict");
    await expectProblem(await invite(admin, org.id, newEmail(), "owner"), 403, "forbidden");
    for (const body of [
      { email: "nope", role: "member" },
      { email: newEmail(), role: "boss" },
      { email: newEmail() },
    ]) {
      const res = await api(`/v1/orgs/${org.id}/invitations`, authed(owner.accessToken, "POST", body));
      await expectProblem(res, 400, "validation_failed");
    }
  });

  it("lists pending invitations newest first, page by page with limit=1", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(((await (await invite(owner, org.id, newEmail())).json()) as Invitation).id);
    const { pages, items } = await collectPages<Invitation>(
      owner.accessToken,
      `/v1/orgs/${org.id}/invitations`,
      1,
    );
    expect(items.map((i) => i.id)).toEqual([...ids].reverse());
    expect(pages).toHaveLength(3);
  });

  it("tells the notifications hook who the invitee is, when they already have an account", async () => {
    const owner = await registerUser();
    const org = (await (
      await api("/v1/orgs", authed(owner.accessToken, "POST", { name: "Hooked" }))
    ).json()) as Org;
    const existing = await registerUser();
    const sent: string[] = [];
    const ctx = {
      db: testDb(),
      config: { INVITATION_TTL: 3600, APP_URL: "http://app.test" } as Config,
      log: createLogger("error", {}),
      kv: undefined as never,
      realtime: undefined as never,
      storage: undefined as never,
      mailer: { kind: "outbox" as const, send: async (m: { to: string }) => void sent.push(m.to) },
      meta: { ip: null, userAgent: null, requestId: "hook-test" },
      defer: (work: Promise<unknown>) => void work,
    };
    const actor = { userId: owner.id, role: "owner" as const };
    const known = await createInvitation(ctx, actor, org.id, { email: existing.email, role: "member" });
    expect(known.inviteeUserId).toBe(existing.id);
    const unknown = await createInvitation(ctx, actor, org.id, { email: newEmail(), role: "guest" });
    expect(unknown.inviteeUserId).toBeNull();
    expect(sent).toEqual([existing.email, unknown.invitation.email]);
  });
});
