/**
 * `npm run db:seed`: demo data for local development, idempotent (fixed ids; existing rows are
 * left alone). A global admin, an org with a member of every role, rooms and messages.
 * Target: LIBSQL_URL (default: the dev sqld). `npm run dev` runs it on every start.
 */
import { createClient } from "@libsql/client/web";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "../src/db/schema.ts";
import { hashPassword } from "../src/services/identity/passwords.ts";

export const DEMO_PASSWORD = "petrel-demo-passphrase";
const id = (n: number) => `00000000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;

export const DEMO_USERS = [
  {
    id: id(1),
    email: "admin@demo.petrel.dev",
    name: "Ada Admin",
    handle: "ada",
    role: "admin" as const,
    orgRole: "owner" as const,
  },
  {
    id: id(2),
    email: "olga@demo.petrel.dev",
    name: "Olga Orgadmin",
    handle: "olga",
    role: "user" as const,
    orgRole: "admin" as const,
  },
  {
    id: id(3),
    email: "mo@demo.petrel.dev",
    name: "Mo Member",
    handle: "mo",
    role: "user" as const,
    orgRole: "member" as const,
  },
  {
    id: id(4),
    email: "gus@demo.petrel.dev",
    name: "Gus Guest",
    handle: "gus",
    role: "user" as const,
    orgRole: "guest" as const,
  },
];
export const DEMO_ORG = { id: id(100), name: "Demo Org", slug: "demo" };
const ROOMS = [
  { id: id(200), name: "general", visibility: "public" as const, members: [1, 4] },
  { id: id(201), name: "leads", visibility: "private" as const, members: [1, 2] },
];
const MESSAGES = [
  [1, "Welcome to Petrel! This room is public to every org member."],
  [3, "Hi all. Mentioning @ada sends her a notification."],
  [2, "Guests only see the rooms they are added to: @gus is in this one."],
] as const;

export async function seed(
  url: string,
  authToken?: string,
  iterations = 600_000,
): Promise<{ created: number }> {
  const client = createClient({ url, authToken });
  const db = drizzle(client, { schema });
  let created = 0;
  try {
    const existing = new Set((await db.select({ id: schema.users.id }).from(schema.users)).map((u) => u.id));
    for (const u of DEMO_USERS) {
      if (existing.has(u.id)) continue;
      const passwordHash = await hashPassword(DEMO_PASSWORD, iterations);
      const now = new Date().toISOString();
      const res = await db
        .insert(schema.users)
        .values({
          id: u.id,
          email: u.email,
          name: u.name,
          handle: u.handle,
          role: u.role,
          passwordHash,
          emailVerifiedAt: now,
        })
        .onConflictDoNothing();
      created += res.rowsAffected;
    }
    const writes = [
      db
        .insert(schema.orgs)
        .values({ ...DEMO_ORG, createdBy: id(1) })
        .onConflictDoNothing(),
      ...DEMO_USERS.map((u) =>
        db
          .insert(schema.memberships)
          .values({ orgId: DEMO_ORG.id, userId: u.id, role: u.orgRole })
          .onConflictDoNothing(),
      ),
      ...ROOMS.map((r) =>
        db
          .insert(schema.rooms)
          .values({ id: r.id, orgId: DEMO_ORG.id, name: r.name, visibility: r.visibility, createdBy: id(1) })
          .onConflictDoNothing(),
      ),
      ...ROOMS.flatMap((r) =>
        r.members.map((m) =>
          db
            .insert(schema.roomMembers)
            .values({ roomId: r.id, userId: id(m), addedBy: id(1) })
            .onConflictDoNothing(),
        ),
      ),
      ...MESSAGES.map(([author, body], i) =>
        db
          .insert(schema.messages)
          .values({
            id: id(300 + i),
            roomId: ROOMS[0]!.id,
            seq: i + 1,
            authorId: id(author),
            body,
            clientId: id(400 + i),
          })
          .onConflictDoNothing(),
      ),
      // Keep the seq counter in step with the seeded messages (never move it backwards).
      db
        .update(schema.rooms)
        .set({ lastSeq: sql`max(${schema.rooms.lastSeq}, ${MESSAGES.length})` })
        .where(sql`${schema.rooms.id} = ${ROOMS[0]!.id}`),
    ] as const;
    const results = await db.batch(writes);
    created += results
      .slice(0, -1)
      .reduce((n, r) => n + ((r as { rowsAffected?: number }).rowsAffected ?? 0), 0);
    return { created };
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  const url = process.env.LIBSQL_URL ?? "http://127.0.0.1:8080";
  const { created } = await seed(url, process.env.LIBSQL_AUTH_TOKEN || undefined);
  console.log(`seeded ${url}: ${created} new rows. Sign in as ${DEMO_USERS[0]!.email} / ${DEMO_PASSWORD}`);
}
