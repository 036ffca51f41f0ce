/**
 * Every org role of the demo data (scripts/seed.ts, seeded by the e2e stack) can use the client:
 * log in, see exactly the rooms the role may see, open one and post. A guest gets no member list
 * (the API answers 403), so the client must not need it: authors it cannot name stay anonymous.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEMO_ORG, DEMO_PASSWORD, DEMO_USERS } from "../../scripts/seed.ts";
import {
  api,
  logIn,
  login,
  messageBodies,
  roomState,
  shot,
  textOf,
  uniq,
  until,
  userPerTest,
} from "./lib.ts";

type DemoUser = (typeof DEMO_USERS)[number];
/** What each org role may see (API.md § Roles): admins see every room, guests only theirs. */
const ROOMS: Record<DemoUser["orgRole"], string[]> = {
  owner: ["general", "leads"],
  admin: ["general", "leads"],
  member: ["general"],
  guest: ["general"],
};
const SEEDED = [
  "Welcome to Petrel! This room is public to every org member.",
  "Hi all. Mentioning @ada sends her a notification.",
  "Guests only see the rooms they are added to: @gus is in this one.",
];
const MEMBERS_ROUTE = /^\/v1\/orgs\/[^/]+\/members$/;

describe("every org role can use the client", () => {
  const users = userPerTest();

  for (const demo of DEMO_USERS) {
    it(`the ${demo.orgRole} (${demo.handle}) logs in, sees their rooms and posts`, async () => {
      const { page } = await users.newUser();
      const memberRequests: number[] = [];
      page.on("response", (res) => {
        if (MEMBERS_ROUTE.test(new URL(res.url()).pathname)) memberRequests.push(res.status());
      });
      await logIn(page, demo.email, DEMO_PASSWORD);

      // Home opens the org: its overview, not an error page.
      const main = page.getByRole("main");
      await main.getByRole("heading", { name: DEMO_ORG.name }).waitFor();
      await main.getByText("of this organization.").waitFor();
      assert.match(await textOf(main.locator("p.muted").first()), new RegExp(`\\b${demo.orgRole}\\b`));
      assert.equal(await main.getByRole("heading", { name: "Not available" }).count(), 0);
      const sidebar = page.getByRole("navigation", { name: "Organizations and rooms" });
      assert.deepEqual(
        (await sidebar.locator(".room-list .room-name").allTextContents()).sort(),
        ROOMS[demo.orgRole],
      );
      if (demo.orgRole === "guest") {
        // No member directory for guests, and the client does not even ask for it.
        assert.equal(await main.getByRole("heading", { name: "Members" }).count(), 0);
        assert.deepEqual(memberRequests, [], "a guest's client never requests the member list");
      } else {
        const members = await main.locator(".members li strong").allTextContents();
        assert.deepEqual(members.sort(), DEMO_USERS.map((u) => u.name).sort());
      }

      await sidebar.getByRole("link", { name: "general" }).click();
      await until(async () => (await roomState(page)) === "live", "the room to be live");
      await until(async () => {
        const shown = await messageBodies(page);
        return SEEDED.every((b) => shown.includes(b));
      }, "the seeded messages");
      // Authors: by name where the role may look people up, anonymous (never an error) otherwise.
      const welcome = page.locator(".messages li.msg", { hasText: SEEDED[0]! });
      const author = await textOf(welcome.locator(".author"));
      if (demo.orgRole === "guest") {
        assert.equal(author, "Someone");
        assert.equal(await textOf(welcome.locator(".handle")), `…${DEMO_USERS[0]!.id.slice(-4)}`);
      } else assert.equal(author, DEMO_USERS[0]!.name);
      // I am in the room's presence under my own name.
      await page.locator(".presence-list li", { hasText: `${demo.name} (you)` }).waitFor();

      const body = `hello from the ${demo.orgRole} ${uniq("")}`;
      await page.getByLabel("Message #general").fill(body);
      await page.getByLabel("Message #general").press("Enter");
      const mine = page.locator(".messages li.msg:not(.pending)", { hasText: body });
      await mine.waitFor();
      assert.equal(await textOf(mine.locator(".author")), demo.name);
      assert.equal(await textOf(mine.locator(".handle")), `@${demo.handle}`);
      await shot(page, `roles-${demo.orgRole}`);

      // The server stored it once, as this user's message, in that room.
      const { accessToken } = await login(demo.email, DEMO_PASSWORD);
      const roomId = new URL(page.url()).pathname.split("/").at(-1)!;
      const history = await api<{ items: Array<{ body: string; authorId: string; roomId: string }> }>(
        `/v1/rooms/${roomId}/messages?limit=100`,
        { token: accessToken },
      );
      assert.equal(history.status, 200);
      const stored = history.body.items.filter((m) => m.body === body);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.authorId, demo.id);
    });
  }
});
