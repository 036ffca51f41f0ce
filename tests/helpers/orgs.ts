import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import { invitations, memberships, orgs, users } from "../../src/db/schema.ts";
import { randomToken, sha256 } from "../../src/lib/crypto.ts";
import { isoIn, uuidv7 } from "../../src/lib/ids.ts";
import { AuthResponseSchema } from "../../src/routes/auth/auth.schema.ts";
import { type OrgRoleSchema, OrgSchema } from "../../src/routes/orgs/orgs.schema.ts";
import { api, eventually, jsonBody, parsed } from "./api.ts";
import { testDb } from "./db.ts";
import { bearer, login, registerUser, type TestUser } from "./users.ts";

export type OrgRole = z.output<typeof OrgRoleSchema>;
export type Org = z.output<typeof OrgSchema>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The test database, for fixtures that have no public route (global admins, expired invitations). */
export { testDb };

/** JSON request with a bearer token and any method. */
export function authed(token: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const init = bearer(token, headers);
  if (body === undefined) return { ...init, method };
  return jsonBody(body, { ...init, method });
}

/** Sign in again and return the new access token (after a role change, for instance). */
export async function freshToken(user: TestUser): Promise<string> {
  const res = await login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await parsed(res, AuthResponseSchema)).accessToken;
}

/**
 * A global admin: there is no public way to become one, so the role is set in the database,
 * then the user signs in again to get a token that carries it.
 */
export async function registerGlobalAdmin(): Promise<TestUser> {
  const user = await registerUser();
  await testDb().update(users).set({ role: "admin" }).where(eq(users.id, user.id));
  return { ...user, accessToken: await freshToken(user) };
}

export async function createOrg(owner: TestUser, body: { name?: string; slug?: string } = {}): Promise<Org> {
  const res = await api("/v1/orgs", authed(owner.accessToken, "POST", { name: "Test Org", ...body }));
  if (res.status !== 201) throw new Error(`create org failed: ${res.status} ${await res.text()}`);
  return parsed(res, OrgSchema);
}

/** An org with an owner and members, written straight to the database (fast matrix fixtures). */
export async function insertOrg(owner: TestUser, others: Array<[TestUser, OrgRole]> = []): Promise<string> {
  const id = uuidv7();
  const db = testDb();
  await db.batch([
    db.insert(orgs).values({ id, name: `Matrix ${id.slice(-8)}`, slug: `m-${id}`, createdBy: owner.id }),
    db
      .insert(memberships)
      .values([
        { orgId: id, userId: owner.id, role: "owner" as const },
        ...others.map(([u, role]) => ({ orgId: id, userId: u.id, role })),
      ]),
  ]);
  return id;
}

/** Add a member directly (behaviour tests that are not about invitations). */
export async function addMember(orgId: string, user: TestUser, role: OrgRole) {
  await testDb().insert(memberships).values({ orgId, userId: user.id, role });
}

/**
 * A pending invitation with a known token, written straight to the database. Its inviter is an
 * owner of the org unless given: an invitation whose inviter may no longer grant it is dead.
 */
export async function insertInvitation(
  orgId: string,
  email: string,
  role: OrgRole,
  opts: { invitedBy?: string; expiresAt?: string } = {},
): Promise<{ id: string; token: string }> {
  const id = uuidv7();
  const token = randomToken();
  const [owner] = await testDb()
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "owner")));
  await testDb()
    .insert(invitations)
    .values({
      id,
      orgId,
      email: email.toLowerCase(),
      role,
      tokenHash: await sha256(token),
      invitedBy: opts.invitedBy ?? owner?.userId ?? null,
      expiresAt: opts.expiresAt ?? isoIn(3600),
    });
  return { id, token };
}

interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  token: string | null;
}

/** The newest mail to `email` whose subject matches (mail is sent after the response). */
export function latestMail(email: string, subject: RegExp, after = 0): Promise<OutboxMail> {
  return eventually(
    async () => {
      const all = (await (await api("/dev/outbox")).json()) as OutboxMail[];
      const mine = all.filter((m) => m.to === email.toLowerCase() && subject.test(m.subject));
      return mine.length > after ? mine[mine.length - 1] : undefined;
    },
    5000,
    `a mail to ${email}`,
  );
}

/** Every item of a paginated list, following nextCursor with `limit` per page. */
export async function collectPages<T>(token: string, path: string, limit: number) {
  const pages: Array<Page<T>> = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const url: string = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await api(url, bearer(token));
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as Page<T>;
    pages.push(page);
    cursor = page.nextCursor;
    if (pages.length > 200) throw new Error("pagination does not end");
  } while (cursor);
  return { pages, items: pages.flatMap((p) => p.items) };
}

// Readers for the role matrix's read-backs: the state a request left behind.

/** The user's role in the org, or undefined when not a member. */
export async function roleIn(orgId: string, userId: string): Promise<OrgRole | undefined> {
  const [row] = await testDb()
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return row?.role;
}

export async function orgRow(orgId: string) {
  const [row] = await testDb().select().from(orgs).where(eq(orgs.id, orgId));
  return row;
}

export async function invitationRows(orgId: string) {
  return testDb().select().from(invitations).where(eq(invitations.orgId, orgId));
}

export async function userRow(userId: string) {
  const [row] = await testDb().select().from(users).where(eq(users.id, userId));
  return row;
}
