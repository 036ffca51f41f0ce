/**
 * Sessions in the browser: keyboard-only sign-in, a tampered refresh cookie and a revoked
 * session both end on the login screen, and a configured OAuth provider signs in.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  api,
  BASE_URL,
  logIn,
  login,
  PASSWORD,
  register,
  roomState,
  uniq,
  until,
  userPerTest,
} from "./lib.ts";

const OIDC_URL = process.env.PETREL_E2E_OIDC_URL ?? "";

describe("sessions", () => {
  const users = userPerTest();

  /** A user with an org and a room, made through the API (not the point of these tests). */
  async function seeded() {
    const handle = uniq("kay_");
    const email = `${handle}@example.com`;
    const reg = await api<{ accessToken: string }>("/v1/auth/register", {
      body: { email, password: PASSWORD, name: "Kay Keyboard", handle },
    });
    assert.equal(reg.status, 201);
    const token = reg.body.accessToken;
    const org = await api<{ id: string }>("/v1/orgs", { token, body: { name: "Keys" } });
    const room = await api<{ id: string }>(`/v1/orgs/${org.body.id}/rooms`, {
      token,
      body: { name: "keys", visibility: "public" },
    });
    assert.equal(room.status, 201);
    return { email, roomPath: `/app/rooms/${room.body.id}` };
  }

  it("signs in with the keyboard alone and lands on the page it was sent from", async () => {
    const { email, roomPath } = await seeded();
    const { page } = await users.newUser();
    await page.goto(roomPath);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    // The email field has focus; Tab moves through the form in order, Enter submits.
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await until(async () => (await roomState(page)) === "live", "the room after signing in");
    assert.equal(new URL(page.url()).pathname, roomPath);
    // The composer has focus: type and send without the mouse.
    await page.keyboard.type("typed without a mouse");
    await page.keyboard.press("Enter");
    await page.locator(".messages li.msg:not(.pending)", { hasText: "typed without a mouse" }).waitFor();
  });

  it("a tampered session cookie sends the user back to login", async () => {
    const { page, context } = await users.newUser();
    const handle = uniq("tam_");
    await register(page, { name: "Tam Per", email: `${handle}@example.com`, handle });
    const [cookie] = (await context.cookies(`${BASE_URL}/v1/auth/refresh`)).filter(
      (c) => c.name === "petrel_rt",
    );
    assert.ok(cookie, "the refresh token is in the HttpOnly cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(await page.evaluate("document.cookie"), "", "script cannot read it");
    const flipped = cookie.value.slice(0, -4) + (cookie.value.endsWith("AAAA") ? "BBBB" : "AAAA");
    await context.addCookies([{ ...cookie, value: flipped }]);
    await page.reload();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    assert.match(page.url(), /\/app\/login$/);
  });

  it("a revoked session sends the user back to login, then back to the room", async () => {
    const { email, roomPath } = await seeded();
    const { page } = await users.newUser();
    await logIn(page, email);
    await page.goto(roomPath);
    await until(async () => (await roomState(page)) === "live", "the room");

    // Elsewhere, the same person signs out every other session (e.g. a lost laptop).
    const other = await login(email);
    const sessions = await api<{ items: Array<{ id: string; current: boolean }> }>("/v1/me/sessions", {
      token: other.accessToken,
    });
    for (const s of sessions.body.items.filter((s) => !s.current)) {
      assert.equal(
        (await api(`/v1/me/sessions/${s.id}`, { method: "DELETE", token: other.accessToken })).status,
        204,
      );
    }
    // The party closes the revoked session's socket; reconnecting needs a ticket, which fails.
    await page.getByRole("heading", { name: "Log in" }).waitFor({ timeout: 30_000 });
    await page.getByText("Your session has ended. Please log in again.").waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await until(async () => (await roomState(page)) === "live", "the room again");
    assert.equal(new URL(page.url()).pathname, roomPath);
  });

  it("signs in with a configured OAuth provider", async () => {
    assert.ok(OIDC_URL, "PETREL_E2E_OIDC_URL is set by run.ts");
    const { page } = await users.newUser();
    // The local provider signs in whoever `login_hint` names: add it to the API's redirect.
    const sub = uniq("oidc-");
    const hint = JSON.stringify({
      sub,
      email: `${sub}@example.com`,
      email_verified: true,
      name: "Olive Idc",
    });
    await page.route("**/v1/auth/oauth/oidc/start", async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const location = new URL(response.headers().location ?? "");
      assert.equal(location.origin, OIDC_URL);
      location.searchParams.set("login_hint", hint);
      await route.fulfill({ response, headers: { ...response.headers(), location: location.toString() } });
    });
    await page.goto("/app/login");
    await page.getByRole("link", { name: "Continue with single sign-on" }).click();
    await page.getByRole("heading", { name: "Welcome to Petrel" }).waitFor({ timeout: 20_000 });
    assert.match((await page.locator(".topbar .me").textContent()) ?? "", /Olive Idc/);
  });
});
