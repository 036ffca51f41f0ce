/**
 * The outbox, all the way to the user: messages written while the room is unreachable
 * (`context.setOffline(true)` plus the real `partykit dev` stopped through the stack's control
 * endpoint, since setOffline leaves open WebSockets alone) are kept in IndexedDB, shown as
 * pending, survive the page being closed and opened again, and reach everyone exactly once, in
 * order, when the party is back. What counts is what the server stored (REST history) and what
 * each page wrote to its sockets (raw frames), not only what the page shows.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  launch,
  logIn,
  type Member,
  messageBodies,
  newUser,
  openPage,
  party,
  roomState,
  roomWithTwo,
  sentMessageFrames,
  shot,
  shotsOnFailure,
  storedMessages,
  textOf,
  type UserPage,
  until,
} from "./lib.ts";

/** Generous: a restarted partykit dev boots in seconds, slower on a loaded machine. */
const BACK_MS = 90_000;

const pendingRows = (page: Page) => page.locator(".messages li.msg.pending:not(.sent)");
const pendingBodies = (page: Page) => pendingRows(page).locator(".msg-body").allTextContents();

async function openRoom(user: UserPage, roomId: string, wait: "live" | "offline" | "any" = "live") {
  const page = await openPage(user, `/app/rooms/${roomId}`);
  // The first room of a run waits for the Worker's first transform and the party's first room: be generous.
  await page.locator(".room-head .conn").waitFor({ timeout: BACK_MS });
  if (wait !== "any")
    await until(async () => (await roomState(page)) === wait, `the room to be ${wait}`, BACK_MS);
  return page;
}

async function write(page: Page, body: string) {
  const input = page.getByRole("textbox", { name: /^Message #/ });
  await input.fill(body);
  await input.press("Enter");
}

describe("the outbox survives a reload and delivers exactly once, in order", () => {
  let browser: Browser;
  let sender: UserPage;
  let other: UserPage;
  let people: { owner: Member; member: Member; roomId: string };

  before(async () => {
    browser = await launch();
    people = await roomWithTwo();
  });
  afterEach(async (t) => {
    await shotsOnFailure(t, { sender, other });
    // Whatever a test did, the next one starts with the party up and the network on.
    await sender?.context.setOffline(false);
    await party("start");
    await sender?.context.close();
    await other?.context.close();
  });
  after(async () => {
    await browser?.close();
  });

  it("20 messages written offline stay pending across a reload, then arrive once each, in order", async () => {
    sender = await newUser(browser);
    other = await newUser(browser);
    await logIn(sender.page, people.member.email);
    await logIn(other.page, people.owner.email);
    await sender.page.close();
    let page = await openRoom(sender, people.roomId);
    const otherPage = await openRoom(other, people.roomId);

    await sender.context.setOffline(true);
    await party("stop");
    await until(async () => (await roomState(page)) === "offline", "the sender to see it is offline");
    const bodies = Array.from({ length: 20 }, (_, i) => `offline ${String(i + 1).padStart(2, "0")}`);
    for (const body of bodies) await write(page, body);
    await until(async () => (await pendingRows(page).count()) === 20, "20 pending rows");
    assert.deepEqual(await pendingBodies(page), bodies);
    assert.match(await textOf(page.locator(".room-head .conn")), /20 pending/);
    const clientIds = await pendingRows(page).evaluateAll((lis) =>
      lis.map((li) => li.getAttribute("data-client-id")),
    );
    assert.equal(new Set(clientIds).size, 20);
    await shot(page, "outbox-01-offline-pending");

    // Closed before anything was delivered; opened again with the network back but the party down.
    await page.close();
    await sender.context.setOffline(false);
    page = await openRoom(sender, people.roomId, "offline");
    const frames = sentMessageFrames(page);
    await until(
      async () => (await pendingRows(page).count()) === 20,
      "the 20 to be pending after the reopen",
    );
    assert.deepEqual(await pendingBodies(page), bodies);
    assert.equal(
      (await storedMessages(people.roomId, people.owner.accessToken)).length,
      0,
      "nothing reached the server while the party was down",
    );
    await shot(page, "outbox-02-reopened-pending");

    await party("start");
    await until(
      async () => (await roomState(page)) === "live",
      "the sender's room to be live again",
      BACK_MS,
    );
    await until(async () => (await pendingRows(page).count()) === 0, "the outbox to be empty");

    // The server stored exactly those 20, once each, in the order they were written.
    const stored = await storedMessages(people.roomId, people.owner.accessToken);
    assert.deepEqual(
      stored.map((m) => m.body),
      bodies,
    );
    assert.deepEqual(
      stored.map((m) => m.clientId),
      clientIds,
    );
    assert.ok(stored.every((m) => m.authorId === people.member.id));
    // And the page wrote each one to its socket exactly once.
    assert.deepEqual(
      frames.map((f) => f.clientId),
      clientIds,
    );

    // The other member sees exactly those 20, once each, in order.
    await until(
      async () => (await messageBodies(otherPage)).length >= 20,
      "the other member to get them",
      BACK_MS,
    );
    assert.deepEqual(await messageBodies(otherPage), bodies);
    await shot(otherPage, "outbox-03-other-member");

    // So does the sender after another reload.
    await page.reload();
    await until(async () => (await roomState(page)) === "live", "the reloaded room");
    assert.deepEqual(await messageBodies(page), bodies);
    assert.equal(await pendingRows(page).count(), 0);
  });

  it("a refused message shows its error and does not hold up the ones after it", async () => {
    sender = await newUser(browser);
    await logIn(sender.page, people.member.email);
    await sender.page.close();
    const page = await openRoom(sender, people.roomId);
    const before = (await storedMessages(people.roomId, people.owner.accessToken)).length;

    await sender.context.setOffline(true);
    await party("stop");
    await until(async () => (await roomState(page)) === "offline", "offline");
    await write(page, "before the bad one");
    // A lone surrogate: the server refuses it as validation_failed, for good.
    await page.getByRole("textbox", { name: /^Message #/ }).evaluate((el) => {
      (el as unknown as { value: string }).value = "bad \ud800 text";
    });
    await page.getByRole("textbox", { name: /^Message #/ }).press("Enter");
    await write(page, "after the bad one");
    await until(async () => (await pendingRows(page).count()) === 3, "3 pending");

    await sender.context.setOffline(false);
    await party("start");
    const failed = page.locator(".messages li.msg.failed");
    await until(async () => (await failed.count()) === 1, "the refused message to show as failed", BACK_MS);
    await until(
      async () => (await storedMessages(people.roomId, people.owner.accessToken)).length === before + 2,
      "the two good ones to be stored",
    );
    const stored = (await storedMessages(people.roomId, people.owner.accessToken)).slice(before);
    assert.deepEqual(
      stored.map((m) => m.body),
      ["before the bad one", "after the bad one"],
    );
    assert.match(await textOf(failed.locator(".status")), /Not sent: .+/);
    await failed.getByRole("button", { name: "Retry" }).waitFor();
    await shot(page, "outbox-04-refused");
    await until(async () => (await roomState(page)) === "live", "live with only the failed one left");

    // Discard drops it, here and in storage: it is gone after a reload too.
    await failed.getByRole("button", { name: "Discard" }).click();
    await until(async () => (await failed.count()) === 0, "the discarded row to go");
    await page.reload();
    await until(async () => (await roomState(page)) === "live", "the reloaded room");
    assert.equal(await page.locator(".messages li.msg.pending").count(), 0);
  });

  it("two tabs of one user, both writing offline, send each message from one tab only", async () => {
    sender = await newUser(browser);
    await logIn(sender.page, people.member.email);
    await sender.page.close();
    const tab1 = await openRoom(sender, people.roomId);
    const tab2 = await openRoom(sender, people.roomId);
    const frames1 = sentMessageFrames(tab1);
    const frames2 = sentMessageFrames(tab2);
    const before = (await storedMessages(people.roomId, people.owner.accessToken)).length;

    await sender.context.setOffline(true);
    await party("stop");
    for (const tab of [tab1, tab2])
      await until(async () => (await roomState(tab)) === "offline", "both tabs offline");
    const written: string[] = [];
    for (let i = 1; i <= 5; i++) {
      for (const [n, tab] of [
        [1, tab1],
        [2, tab2],
      ] as const) {
        const body = `tab ${n} message ${i}`;
        await write(tab, body);
        written.push(body);
      }
    }
    // One outbox for the user: each tab shows all ten as pending.
    for (const tab of [tab1, tab2])
      await until(async () => (await pendingRows(tab).count()) === 10, "10 pending in each tab");
    assert.deepEqual(await pendingBodies(tab1), written);
    assert.deepEqual(await pendingBodies(tab2), written);

    await sender.context.setOffline(false);
    await party("start");
    for (const tab of [tab1, tab2])
      await until(async () => (await pendingRows(tab).count()) === 0, "both outboxes empty", BACK_MS);

    const stored = (await storedMessages(people.roomId, people.owner.accessToken)).slice(before);
    assert.deepEqual(
      stored.map((m) => m.body),
      written,
    );
    // On the wire: every message was written to a socket once, by one of the two tabs.
    const sent = [...frames1, ...frames2];
    assert.equal(sent.length, 10, `message frames sent: tab 1 ${frames1.length}, tab 2 ${frames2.length}`);
    assert.deepEqual(sent.map((f) => f.clientId).sort(), stored.map((m) => m.clientId).sort());
    for (const tab of [tab1, tab2]) {
      await until(async () => (await messageBodies(tab)).length >= before + 10, "each tab to show them");
      assert.deepEqual((await messageBodies(tab)).slice(before), written);
    }
  });
});
