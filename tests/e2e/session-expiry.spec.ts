/**
 * An access token that expires under an open page, against the stack's short-session Worker
 * (tokens live 30 s, no clock leeway). What the client is built to do (client/session.ts):
 * the token lives in memory; a 401 `token_expired` refreshes it once through the HttpOnly cookie
 * and retries, so the page goes on; when that refresh fails too, the session is over and the user
 * lands on the login screen, and after logging in, back where they were.
 * Both users sign in together, so one wait for the expiry serves both tests.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser } from "playwright-core";
import {
  api,
  launch,
  logIn,
  login,
  newUser,
  PASSWORD,
  roomState,
  shotsOnFailure,
  type UserPage,
  uniq,
  until,
} from "./lib.ts";
import { SHORT_SESSION_VARS } from "./stack.ts";

const SHORT_URL = process.env.PETREL_E2E_SHORT_SESSION_URL ?? "";
const TTL_S = Number(SHORT_SESSION_VARS.ACCESS_TOKEN_TTL);

interface Signed {
  user: UserPage;
  email: string;
  second: string;
  /** The access token the page got at login (it lives only in the page's memory). */
  token: string;
  /** Every 401 and every refresh the page saw, in order. */
  auth: Array<{ path: string; status: number; code?: string }>;
}

/** A user with an org and two rooms (set up through the API), signed in, in the first room. */
async function signIn(browser: Browser, prefix: string): Promise<Signed> {
  const handle = uniq(prefix);
  const email = `${handle}@example.com`;
  const reg = await api<{ accessToken: string }>("/v1/auth/register", {
    body: { email, password: PASSWORD, name: `Tess ${prefix.replace("_", "")}`, handle },
  });
  assert.equal(reg.status, 201);
  const token = reg.body.accessToken;
  const org = await api<{ id: string }>("/v1/orgs", { token, body: { name: "Clockwork" } });
  const rooms: string[] = [];
  for (const name of ["first", "second"]) {
    const room = await api<{ id: string }>(`/v1/orgs/${org.body.id}/rooms`, {
      token,
      body: { name, visibility: "public" },
    });
    assert.equal(room.status, 201);
    rooms.push(room.body.id);
  }
  const user = await newUser(browser, { baseURL: SHORT_URL });
  const signed: Signed = { user, email, second: rooms[1]!, token: "", auth: [] };
  user.page.on("response", async (res) => {
    const path = new URL(res.url()).pathname;
    if (path === "/v1/auth/login" && res.status() === 200) signed.token = (await res.json()).accessToken;
    if (path === "/v1/auth/refresh" || res.status() === 401) {
      // Recorded when the response arrives; the 401's code is filled in once its body is read,
      // so a refresh answered meanwhile can never be listed before the 401 that caused it.
      const entry: Signed["auth"][number] = { path, status: res.status(), code: undefined };
      signed.auth.push(entry);
      if (res.status() === 401) entry.code = (await res.json().catch(() => ({}))).code;
    }
  });
  await logIn(user.page, email);
  await user.page.goto(`/app/rooms/${rooms[0]}`);
  await until(async () => (await roomState(user.page)) === "live", "the first room");
  return signed;
}

const expiresAt = (token: string) =>
  (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp;

describe("an access token that expires under an open page", () => {
  let browser: Browser;
  let fine: Signed;
  let lost: Signed;
  before(async () => {
    assert.ok(SHORT_URL, "PETREL_E2E_SHORT_SESSION_URL is set by run.ts");
    browser = await launch();
    [fine, lost] = await Promise.all([signIn(browser, "fine_"), signIn(browser, "lost_")]);
    for (const s of [fine, lost]) {
      assert.ok(s.token, "the page signed in");
      assert.equal(expiresAt(s.token) - Math.floor(Date.now() / 1000) <= TTL_S, true);
    }
    // Wait out both tokens, then make sure the server really refuses them as expired.
    const last = Math.max(expiresAt(fine.token), expiresAt(lost.token));
    await sleep(Math.max(0, (last + 1) * 1000 - Date.now()) + 500);
    for (const s of [fine, lost]) {
      const me = await api<{ code: string }>("/v1/me", { token: s.token, base: SHORT_URL });
      assert.deepEqual([me.status, me.body.code], [401, "token_expired"]);
    }
  });
  afterEach((t) => shotsOnFailure(t, { fine: fine?.user, lost: lost?.user }));
  after(async () => {
    await browser?.close();
  });

  it("is refreshed through the cookie without the user noticing", async () => {
    const { page } = fine.user;
    const before = fine.auth.length;
    await page.getByRole("navigation").getByRole("link", { name: "second" }).click();
    await until(async () => (await roomState(page)) === "live", "the second room after the expiry");
    assert.equal(new URL(page.url()).pathname, `/app/rooms/${fine.second}`);
    // What happened underneath: the expired token was refused once, one refresh replaced it.
    const seen = fine.auth.slice(before);
    assert.deepEqual(seen.slice(0, 2), [
      { path: `/v1/rooms/${fine.second}`, status: 401, code: "token_expired" },
      { path: "/v1/auth/refresh", status: 200, code: undefined },
    ]);
    assert.equal(seen.filter((a) => a.path === "/v1/auth/refresh").length, 1, "one refresh");

    const body = `still here ${uniq("")}`;
    await page.getByLabel("Message #second").fill(body);
    await page.getByLabel("Message #second").press("Enter");
    await page.locator(".messages li.msg:not(.pending)", { hasText: body }).waitFor();
    const { accessToken } = await login(fine.email);
    const history = await api<{ items: Array<{ body: string }> }>(`/v1/rooms/${fine.second}/messages`, {
      token: accessToken,
    });
    assert.equal(history.body.items.filter((m) => m.body === body).length, 1, "stored once");
    assert.equal(await page.getByRole("heading", { name: "Log in" }).count(), 0);
    assert.deepEqual(fine.user.problems, [], "no CSP violation or page error");
  });

  it("sends the user to log in when it cannot be refreshed, then back to the page", async () => {
    const { page, context } = lost.user;
    // The refresh cookie is gone as well (expired, cleared): the session cannot be renewed.
    await context.clearCookies();
    await page.getByRole("navigation").getByRole("link", { name: "second" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    assert.match(page.url(), /\/app\/login$/);
    await page.getByText("Your session has ended. Please log in again.").waitFor();
    assert.equal(await page.getByRole("heading", { name: "Not available" }).count(), 0);
    await page.getByLabel("Email").fill(lost.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await until(async () => (await roomState(page)) === "live", "the second room after logging in");
    assert.equal(new URL(page.url()).pathname, `/app/rooms/${lost.second}`);
    assert.deepEqual(lost.user.problems, [], "no CSP violation or page error");
  });
});
