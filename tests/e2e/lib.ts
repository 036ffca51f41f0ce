/** Shared helpers for the browser tests: the browser, users, API calls, waiting, screenshots. */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before } from "node:test";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";

export const BASE_URL = process.env.PETREL_E2E_URL ?? "";
if (!BASE_URL) throw new Error("PETREL_E2E_URL is not set: run the browser tests with `npm run test:e2e`");
export const SHOTS = join(import.meta.dirname, "screenshots");
export const PASSWORD = "a long enough e2e password";

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    // launch() gives every run a fresh temporary profile (user-data-dir).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** CSP violations and uncaught page errors seen so far (must stay empty). */
  problems: string[];
}

/** A browser profile of its own (cookies, localStorage) with one page, watched for CSP violations. */
export async function newUser(
  browser: Browser,
  { viewport = { width: 1280, height: 800 }, baseURL = BASE_URL } = {},
): Promise<UserPage> {
  const context = await browser.newContext({ viewport, baseURL, reducedMotion: "reduce" });
  // Short waits per action: `until()` gives the generous overall bounds.
  context.setDefaultTimeout(10_000);
  const problems: string[] = [];
  const user = { context, page: await context.newPage(), problems };
  watch(user.page, problems);
  return user;
}

/**
 * For a describe() whose every test has one fresh user of its own: one browser for the suite;
 * after each test, screenshots if it failed, no CSP violation or page error, the profile closed.
 */
export function userPerTest(): { newUser(): Promise<UserPage> } {
  let browser: Browser | undefined;
  let user: UserPage | undefined;
  before(async () => {
    browser = await launch();
  });
  afterEach(async (t) => {
    await shotsOnFailure(t, { user });
    const problems = user?.problems ?? [];
    await user?.context.close();
    user = undefined;
    assert.deepEqual(problems, [], "no CSP violation or page error");
  });
  after(async () => {
    await browser?.close();
  });
  return {
    async newUser() {
      if (!browser) throw new Error("userPerTest().newUser() runs inside a test");
      user = await newUser(browser);
      return user;
    },
  };
}

export function watch(page: Page, problems: string[]) {
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`csp: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
}

export async function openPage(user: UserPage, path: string): Promise<Page> {
  user.page = await user.context.newPage();
  watch(user.page, user.problems);
  await user.page.goto(path);
  return user.page;
}

/** Poll until `check` returns a truthy value (generous bound: the machine may be busy). */
export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export const textOf = async (l: Locator) => ((await l.textContent()) ?? "").trim();

/** For afterEach: keep a screenshot of every open page of a test that failed. */
export async function shotsOnFailure(t: { name: string }, users: Record<string, UserPage | undefined>) {
  if ("passed" in t && t.passed) return;
  for (const [who, user] of Object.entries(users)) {
    for (const [i, page] of (user?.context.pages() ?? []).entries()) {
      await shot(page, `failed-${t.name.replace(/\W+/g, "-").slice(0, 60)}-${who}${i ? `-${i}` : ""}`).catch(
        () => undefined,
      );
    }
  }
}

export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Plain API calls from the test (setup that is not the point of a test). */
export async function api<T = unknown>(
  path: string,
  init: { method?: string; token?: string; body?: unknown; base?: string } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${init.base ?? BASE_URL}${path}`, {
    method: init.method ?? (init.body ? "POST" : "GET"),
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { "content-type": "application/json" } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export async function login(
  email: string,
  password = PASSWORD,
): Promise<{ accessToken: string; user: { id: string } }> {
  const res = await api<{ accessToken: string; user: { id: string } }>("/v1/auth/login", {
    body: { email, password },
  });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status}`);
  return res.body;
}

/** The token of the newest mail to `to` whose subject matches (development outbox). */
export async function mailToken(to: string, subject: RegExp): Promise<string> {
  return until(async () => {
    const mails = (await api<Array<{ to: string; subject: string; token: string | null }>>("/dev/outbox"))
      .body;
    return mails.filter((m) => m.to === to && subject.test(m.subject) && m.token).at(-1)?.token;
  }, `a mail to ${to}`);
}

export function uniq(prefix: string) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Register through the client's own form. */
export async function register(page: Page, who: { name: string; email: string; handle: string }) {
  await page.goto("/app/register");
  await page.getByLabel("Name").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Handle (optional)").fill(who.handle);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** Log in through the client's own form and wait until the app shows the signed-in shell. */
export async function logIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/app/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** The bodies of the confirmed messages in the open room, in on-screen order. */
export async function messageBodies(page: Page): Promise<string[]> {
  return page.locator(".messages li.msg:not(.pending) .msg-body").allTextContents();
}

export async function roomState(page: Page) {
  return page.locator(".room-head .conn").getAttribute("data-state");
}

const CONTROL_URL = process.env.PETREL_E2E_CONTROL_URL ?? "";

/** Act on the stack's real `partykit dev` (tests/e2e/control.ts): resolves once done. */
export async function party(action: "stop" | "start" | "freeze" | "thaw"): Promise<void> {
  if (!CONTROL_URL) throw new Error("PETREL_E2E_CONTROL_URL is not set: run with `npm run test:e2e`");
  const res = await fetch(`${CONTROL_URL}/party/${action}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`party ${action}: ${res.status} ${await res.text()}`);
}

export interface Member {
  email: string;
  name: string;
  id: string;
  accessToken: string;
}

/** Register a user through the API (setup, not the point of a test). */
export async function registerApi(prefix: string): Promise<Member> {
  const handle = uniq(prefix).toLowerCase().slice(0, 30);
  const email = `${handle}@example.com`;
  const res = await api<{ user: { id: string; name: string }; accessToken: string }>("/v1/auth/register", {
    body: { email, password: PASSWORD, name: `${prefix} ${handle.slice(-4)}`, handle },
  });
  if (res.status !== 201) throw new Error(`register ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, name: res.body.user.name, id: res.body.user.id, accessToken: res.body.accessToken };
}

/** A fresh org with one public room, its owner and one member (invited, verified, accepted). */
export async function roomWithTwo(): Promise<{
  owner: Member;
  member: Member;
  roomId: string;
  orgId: string;
}> {
  const owner = await registerApi("owner");
  const member = await registerApi("member");
  const org = await api<{ id: string }>("/v1/orgs", {
    token: owner.accessToken,
    body: { name: uniq("Org ") },
  });
  const room = await api<{ id: string }>(`/v1/orgs/${org.body.id}/rooms`, {
    token: owner.accessToken,
    body: { name: "general", visibility: "public" },
  });
  const invited = await api(`/v1/orgs/${org.body.id}/invitations`, {
    token: owner.accessToken,
    body: { email: member.email, role: "member" },
  });
  if (org.status !== 201 || room.status !== 201 || invited.status !== 201)
    throw new Error(`setup: ${org.status} ${room.status} ${invited.status}`);
  const verify = await mailToken(member.email, /confirm your email/i);
  assertStatus(await api("/v1/auth/verify-email", { body: { token: verify } }), 204);
  const invitation = await mailToken(member.email, /invited/i);
  assertStatus(
    await api(`/v1/invitations/${invitation}/accept`, { method: "POST", token: member.accessToken }),
    200,
  );
  return { owner, member, roomId: room.body.id, orgId: org.body.id };
}

function assertStatus(res: { status: number; body: unknown }, status: number) {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Every message the server stores for a room, in seq order (REST history, paged). */
export async function storedMessages(
  roomId: string,
  token: string,
): Promise<Array<{ seq: number; body: string; clientId: string; authorId: string }>> {
  const out: Array<{ seq: number; body: string; clientId: string; authorId: string }> = [];
  for (let after = 0; ; ) {
    const page = await api<{ items: typeof out; hasMore: boolean }>(
      `/v1/rooms/${roomId}/messages?afterSeq=${after}&limit=100`,
      { token },
    );
    if (page.status !== 200) throw new Error(`history: ${page.status}`);
    out.push(...page.body.items);
    if (!page.body.hasMore || page.body.items.length === 0) return out;
    after = page.body.items.at(-1)!.seq;
  }
}

/** The `message` frames a page writes to its WebSockets, as sent (clientId and body). */
export function sentMessageFrames(page: Page): Array<{ clientId: string; body: string }> {
  const frames: Array<{ clientId: string; body: string }> = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", ({ payload }) => {
      try {
        const f = JSON.parse(String(payload)) as { type?: string; clientId?: string; body?: string };
        if (f.type === "message") frames.push({ clientId: f.clientId!, body: f.body! });
      } catch {
        // not JSON: not a message frame
      }
    });
  });
  return frames;
}
