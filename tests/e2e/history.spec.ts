/** Long history: the room opens on the latest page, scrolling up loads older pages with beforeSeq. */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import {
  api,
  launch,
  logIn,
  messageBodies,
  newUser,
  PASSWORD,
  roomState,
  shotsOnFailure,
  type UserPage,
  uniq,
  until,
} from "./lib.ts";

describe("room history", () => {
  let browser: Browser;
  let user: UserPage | undefined;
  before(async () => {
    browser = await launch();
  });
  afterEach((t) => shotsOnFailure(t, { user }));
  after(async () => {
    await browser?.close();
  });

  it("scrolling up loads every older message once, in order", async () => {
    const handle = uniq("hist_");
    const email = `${handle}@example.com`;
    const reg = await api<{ accessToken: string }>("/v1/auth/register", {
      body: { email, password: PASSWORD, name: "Hugo Story", handle },
    });
    const token = reg.body.accessToken;
    const org = await api<{ id: string }>("/v1/orgs", { token, body: { name: "Archive" } });
    const room = await api<{ id: string }>(`/v1/orgs/${org.body.id}/rooms`, {
      token,
      body: { name: "archive", visibility: "public" },
    });
    const bodies = Array.from({ length: 75 }, (_, i) => `archived message ${i + 1}`);
    for (const body of bodies) {
      const res = await api(`/v1/rooms/${room.body.id}/messages`, {
        token,
        body: { body, clientId: crypto.randomUUID() },
      });
      assert.equal(res.status, 201);
    }

    user = await newUser(browser);
    const { page } = user;
    await logIn(page, email);
    const requests: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/messages?")) requests.push(new URL(r.url()).search);
    });
    await page.goto(`/app/rooms/${room.body.id}`);
    await until(async () => (await roomState(page)) === "live", "the room");
    assert.deepEqual(await messageBodies(page), bodies.slice(-30), "opens on the latest 30");

    await until(async () => {
      await page.locator(".timeline").evaluate((el: { scrollTop: number }) => {
        el.scrollTop = 0;
      });
      return page.getByText("This is the beginning of #archive.").isVisible();
    }, "the beginning of the room");
    assert.deepEqual(await messageBodies(page), bodies);
    assert.ok(
      requests.some((q) => q.includes("beforeSeq=46")),
      `older pages by beforeSeq (${requests.join(" ")})`,
    );
    assert.deepEqual(user.problems, []);
  });
});
