/**
 * Two people in two browser profiles: register, create an org and a room, invite, chat with
 * typing and presence, edit and delete, catch up after a closed page, mention, upload an image.
 * The steps build on each other, in order.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { ID_SOURCE } from "../../src/lib/ids.ts";
import {
  launch,
  mailToken,
  messageBodies,
  newUser,
  openPage,
  register,
  roomState,
  shot,
  shotsOnFailure,
  textOf,
  type UserPage,
  until,
} from "./lib.ts";
import { makePng } from "./png.ts";

describe("two people chatting in one room", () => {
  let browser: Browser;
  let a: UserPage;
  let b: UserPage;
  let roomPath = "";
  // run.ts gives every run a fresh database (with only the demo users of scripts/seed.ts, whose
  // handles are ada, olga, mo and gus), so plain handles are free and read well in screenshots.
  const ada = { name: "Ada Lovelace", handle: "lovelace", email: "ada@example.com" };
  const grace = { name: "Grace Hopper", handle: "grace", email: "grace@example.com" };

  before(async () => {
    browser = await launch();
    a = await newUser(browser);
    b = await newUser(browser);
  });
  afterEach((t) => shotsOnFailure(t, { a, b }));
  after(async () => {
    await browser?.close();
  });

  it("a new user registers, creates an org and a room, and invites a colleague", async () => {
    await a.page.goto("/app/");
    await a.page.getByRole("heading", { name: "Log in" }).waitFor();
    assert.match(a.page.url(), /\/app\/login$/);
    await shot(a.page, "01-login");
    await register(a.page, ada);
    const main = a.page.getByRole("main");
    await main.getByRole("heading", { name: "Welcome to Petrel" }).waitFor();
    await main.getByLabel("Organization name").fill("Analytical Engines");
    await main.getByRole("button", { name: "Create organization" }).click();
    await main.getByRole("heading", { name: "Analytical Engines" }).waitFor();
    await main.getByLabel("Email").fill(grace.email);
    await main.getByRole("button", { name: "Send invitation" }).click();
    await main.getByText(`Invitation sent to ${grace.email}.`).waitFor();
    await main.getByLabel("Room name").fill("general");
    await shot(a.page, "02-org");
    await main.getByRole("button", { name: "Create room" }).click();
    await until(async () => (await roomState(a.page)) === "live", "Ada's room to be live");
    roomPath = new URL(a.page.url()).pathname;
    assert.match(roomPath, new RegExp(`^/app/rooms/${ID_SOURCE}$`));
  });

  it("the colleague registers, accepts the invitation and opens the room", async () => {
    await register(b.page, grace);
    const token = await mailToken(grace.email, /invited/i);
    await b.page.goto(`/app/invitations/${token}`);
    await b.page.getByRole("button", { name: "Accept invitation" }).click();
    // Accepting needs a verified address: the page says so, and the mail's link does it.
    await b.page.getByRole("status").getByText("Verify your email address").waitFor();
    await b.page.goto(`/app/verify-email?token=${await mailToken(grace.email, /confirm your email/i)}`);
    await b.page.getByRole("status").getByText("Your email is verified").waitFor();
    await b.page.goto(`/app/invitations/${token}`);
    await b.page.getByRole("button", { name: "Accept invitation" }).click();
    await b.page.getByRole("main").getByRole("heading", { name: "Analytical Engines" }).waitFor();
    await b.page.getByRole("navigation").getByRole("link", { name: "general" }).click();
    await until(async () => (await roomState(b.page)) === "live", "Grace's room to be live");
    assert.equal(new URL(b.page.url()).pathname, roomPath);
  });

  it("both see each other online, typing, and each other's messages", async () => {
    for (const [page, other] of [
      [a.page, grace.name],
      [b.page, ada.name],
    ] as const) {
      await until(
        async () => (await textOf(page.locator(".presence-list"))).includes(other),
        `${other} online`,
      );
    }
    await b.page.getByLabel("Message #general").pressSequentially("Hi Ad", { delay: 20 });
    await until(
      async () => (await textOf(a.page.locator(".typing"))) === "Grace Hopper is typing…",
      "Ada to see Grace typing",
    );
    await b.page.getByLabel("Message #general").pressSequentially("a!");
    await b.page.keyboard.press("Enter");
    await until(
      async () => (await messageBodies(a.page)).includes("Hi Ada!"),
      "Ada to receive Grace's message",
    );
    // Typing ends with the message.
    assert.equal(await textOf(a.page.locator(".typing")), "");

    await a.page.getByLabel("Message #general").fill("Hello Grace, welcome aboard.");
    await a.page.keyboard.press("Enter");
    // Optimistic: on screen at once, then confirmed by the server's ack (it gets a seq).
    const mine = a.page.locator(".messages li.msg.own").last();
    await until(
      async () => (await textOf(mine.locator(".msg-body"))) === "Hello Grace, welcome aboard.",
      "the optimistic copy",
    );
    await until(async () => !(await mine.getAttribute("class"))?.includes("pending"), "the ack");
    assert.match((await mine.getAttribute("data-seq")) ?? "", /^\d+$/);
    await until(
      async () => (await messageBodies(b.page)).includes("Hello Grace, welcome aboard."),
      "Grace to receive Ada's message",
    );
    assert.deepEqual(await messageBodies(b.page), await messageBodies(a.page));
  });

  it("edits and deletes own messages, live on the other side", async () => {
    await a.page.getByLabel("Message #general").fill("This one has a typo: teh");
    await a.page.keyboard.press("Enter");
    const typo = a.page.locator(".messages li.msg.own:not(.pending)", { hasText: "teh" });
    const msg = a.page.locator(
      `.messages li.msg[data-seq="${await until(() => typo.getAttribute("data-seq"), "the ack")}"]`,
    );
    await msg.hover();
    await msg.getByRole("button", { name: "Edit" }).click();
    await msg.getByLabel("Edit message").fill("This one had a typo: the");
    await a.page.keyboard.press("Enter");
    const theirs = b.page.locator(".messages li.msg", { hasText: "This one had a typo: the" });
    await until(
      async () => (await textOf(theirs.locator(".edited"))) === "(edited)",
      "Grace to see the edit",
    );

    await a.page.getByLabel("Message #general").fill("Oops, wrong room.");
    await a.page.keyboard.press("Enter");
    const oops = a.page.locator(".messages li.msg.own:not(.pending)", { hasText: "Oops, wrong room." });
    const seq = await until(() => oops.getAttribute("data-seq"), "the message to be stored");
    await until(async () => (await messageBodies(b.page)).includes("Oops, wrong room."), "Grace to see it");
    await oops.hover();
    await oops.getByRole("button", { name: "Delete" }).click();
    await oops.getByRole("button", { name: "Delete for everyone" }).click();
    const gone = b.page.locator(`.messages li.msg[data-seq="${seq}"]`);
    await until(
      async () => (await textOf(gone)).includes("This message was deleted."),
      "Grace to see the tombstone",
    );
    assert.equal(await a.page.locator(`.messages li.msg[data-seq="${seq}"].deleted`).count(), 1);
  });

  it("after a closed page, shows exactly the missed messages once each, in order", async () => {
    const key = await a.page.evaluate<string | undefined>(
      'Object.keys(localStorage).find((k) => k.startsWith("petrel:lastSeq:"))',
    );
    assert.ok(key, "the client keeps its last seen seq in localStorage");
    await a.page.close();
    await until(
      async () => !(await textOf(b.page.locator(".presence-list"))).includes(ada.name),
      "Ada to go offline",
    );

    const missed = [1, 2, 3, 4, 5].map((i) => `While you were away #${i}`);
    // One at a time, as a person types them (each confirmed before the next).
    for (const body of missed) {
      await b.page.getByLabel("Message #general").fill(body);
      await b.page.keyboard.press("Enter");
      await until(
        async () => (await b.page.locator(".messages li.msg.pending").count()) === 0,
        `"${body}" to be stored`,
      );
    }

    const page = await openPage(a, roomPath);
    await until(async () => (await roomState(page)) === "live", "Ada's reopened room to catch up");
    const afterDivider = await page.locator(".messages li.divider ~ li.msg .msg-body").allTextContents();
    assert.deepEqual(afterDivider, missed);
    const all = await messageBodies(page);
    for (const body of missed) assert.equal(all.filter((m) => m === body).length, 1, `${body} exactly once`);
    const seqs = await page
      .locator(".messages li.msg")
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
      "in seq order",
    );
    assert.equal(new Set(seqs).size, seqs.length, "no seq twice");
    assert.match(await textOf(page.locator(".room-head .conn")), /caught up \(5 new\)/);
    await shot(page, "03-catch-up");
  });

  it("a mention raises the other user's notification badge", async () => {
    assert.equal(await a.page.locator(".bell .badge").isVisible(), false);
    await b.page.getByLabel("Message #general").fill(`@${ada.handle} could you check the numbers?`);
    await b.page.keyboard.press("Enter");
    await until(async () => (await textOf(a.page.locator(".bell .badge"))) === "1", "Ada's badge to show 1");
    const bell = a.page.getByRole("button", { name: "Notifications, 1 unread" });
    await bell.click();
    const item = a.page.locator("#notif-panel .notif.mention");
    assert.match(await textOf(item), /Grace Hopper mentioned you in #general/);
    assert.match(await textOf(item), /could you check the numbers/);
    await shot(a.page, "04-notifications");
    await a.page.keyboard.press("Escape");
    assert.equal(await a.page.locator("#notif-panel").isVisible(), false);
  });

  it("an image upload shows its progress, then the image", async () => {
    const png = makePng(640, 400);
    // Slow the upload down (DevTools throttling) so its progress is visible, not instant.
    const cdp = await a.context.newCDPSession(a.page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 20,
      downloadThroughput: -1,
      uploadThroughput: 256 * 1024,
    });
    await a.page
      .locator("#composer-file")
      .setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: png });
    const upload = a.page.locator(".upload", { hasText: "sunset.png" });
    const seen = new Set<string>();
    await until(async () => {
      const bar = upload.locator("progress");
      if (await bar.count()) {
        const [value, max] = await bar.evaluate((p: { value: number; max: number }) => [p.value, p.max]);
        if (value > 0 && value < max) seen.add(await textOf(upload.locator(".bytes")));
      }
      return (await upload.getAttribute("class"))?.includes("ready");
    }, "the upload to finish");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    assert.ok(seen.size >= 2, `progress seen at several points (${[...seen].join(", ")})`);
    const total = `${(png.length / 1024).toFixed(0)} KB`;
    for (const text of seen)
      assert.ok(text.endsWith(` / ${total}`), `"${text}" counts bytes sent of ${total}`);

    await a.page.getByLabel("Message #general").fill("Sunset from the ferry");
    await a.page.keyboard.press("Enter");
    for (const page of [a.page, b.page]) {
      const img = page.locator('.messages img[alt="sunset.png"]');
      await until(
        () =>
          img.evaluate(
            (el: { complete: boolean; naturalWidth: number }) => el.complete && el.naturalWidth === 640,
          ),
        "the image to load",
      );
    }
    // The image grew the list after the message arrived: a reader at the bottom stays there.
    for (const page of [b.page, a.page]) {
      await page.bringToFront();
      await until(
        () =>
          page
            .locator(".timeline")
            .evaluate(
              (el: { scrollTop: number; scrollHeight: number; clientHeight: number }) =>
                el.scrollHeight - el.scrollTop - el.clientHeight < 2,
            ),
        "the timeline to stay scrolled to the end",
      );
    }
    await shot(b.page, "05-room");
    await shot(a.page, "05-room-uploader");
  });

  it("works on a phone-sized screen", async () => {
    const phone = await openPage(b, roomPath);
    await phone.setViewportSize({ width: 390, height: 844 });
    await until(async () => (await roomState(phone)) === "live", "the phone page to be live");
    const sidebarX = async () => (await phone.locator(".sidebar").boundingBox())?.x ?? Number.NaN;
    assert.ok((await sidebarX()) < 0, "the sidebar is tucked away");
    const toggle = phone.getByRole("button", { name: "Rooms" });
    await shot(phone, "06-phone-room");
    await toggle.click();
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    await until(async () => (await sidebarX()) >= 0, "the sidebar to slide in");
    await shot(phone, "07-phone-rooms");
    const width = await phone.evaluate<number>("document.documentElement.scrollWidth");
    assert.ok(width <= 390, `no horizontal scrolling (${width}px)`);
  });

  it("broke no Content-Security-Policy rule and threw no page error", () => {
    assert.deepEqual([...a.problems, ...b.problems], []);
  });
});
