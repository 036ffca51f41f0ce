import { eq, inArray } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { DEMO_ORG, DEMO_PASSWORD, DEMO_USERS, seed } from "../scripts/seed.ts";
import { memberships, messages, rooms } from "../src/db/schema.ts";
import { api, jsonBody } from "./helpers/api.ts";
import { testDb } from "./helpers/db.ts";
import { bearer } from "./helpers/users.ts";

describe("db:seed", () => {
  it("creates the demo data once and is idempotent", async () => {
    const first = await seed(inject("sqldUrl"), undefined, 1000);
    const second = await seed(inject("sqldUrl"), undefined, 1000);
    expect(first.created).toBeGreaterThan(0);
    expect(second.created).toBe(0);
    const db = testDb();
    const roles = await db
      .select({ role: memberships.role })
      .from(memberships)
      .where(eq(memberships.orgId, DEMO_ORG.id));
    expect(roles.map((r) => r.role).sort()).toEqual(["admin", "guest", "member", "owner"]);
    const demoRooms = await db.select().from(rooms).where(eq(rooms.orgId, DEMO_ORG.id));
    expect(demoRooms).toHaveLength(2);
    const msgs = await db
      .select()
      .from(messages)
      .where(
        inArray(
          messages.roomId,
          demoRooms.map((r) => r.id),
        ),
      );
    expect(msgs.map((m) => m.seq).sort()).toEqual([1, 2, 3]);
    expect(demoRooms.find((r) => r.name === "general")?.lastSeq).toBe(3);
  });

  it("the seeded admin can sign in and sees the demo org's rooms", async () => {
    await seed(inject("sqldUrl"), undefined, 1000);
    const res = await api(
      "/v1/auth/login",
      jsonBody(
        { email: DEMO_USERS[0]!.email, password: DEMO_PASSWORD },
        { headers: { "cf-connecting-ip": "10.77.0.1" } },
      ),
    );
    expect(res.status).toBe(200);
    const { accessToken, user } = (await res.json()) as { accessToken: string; user: { role: string } };
    expect(user.role).toBe("admin");
    const list = (await (await api(`/v1/orgs/${DEMO_ORG.id}/rooms`, bearer(accessToken))).json()) as {
      items: Array<{ name: string }>;
    };
    expect(list.items.map((r) => r.name).sort()).toEqual(["general", "leads"]);
  });
});
