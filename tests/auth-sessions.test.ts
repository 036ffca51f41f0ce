import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../src/db/schema.ts";
import { api, eventually, jsonBody, settled } from "./helpers/api.ts";
import { testDb } from "./helpers/db.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, login, PASSWORD, registerUser } from "./helpers/users.ts";

const refresh = (refreshToken: string) => api("/v1/auth/refresh", jsonBody({ refreshToken }));
type Pair = { accessToken: string; refreshToken: string };
const sessionIdOf = (refreshToken: string) => refreshToken.split(".")[0]!;

describe("refresh-token rotation", () => {
  it("rotates on every use; each new pair works", async () => {
    const u = await registerUser();
    const r1 = await refresh(u.refreshToken);
    expect(r1.status).toBe(200);
    expect(r1.headers.get("cache-control")).toBe("no-store");
    const p1 = (await r1.json()) as Pair;
    expect(p1.refreshToken).not.toBe(u.refreshToken);
    expect((await api("/v1/me", bearer(p1.accessToken))).status).toBe(200);
    const p2 = (await (await refresh(p1.refreshToken)).json()) as Pair;
    expect(p2.refreshToken).not.toBe(p1.refreshToken);
    const [row] = await testDb()
      .select()
      .from(sessions)
      .where(eq(sessions.id, sessionIdOf(u.refreshToken)));
    expect(row?.generation).toBe(2);
    expect(JSON.stringify(row)).not.toContain(p2.refreshToken.split(".")[2]); // only hashes at rest
  });

  it("reuse of an old token revokes the whole session, access tokens included", async () => {
    const u = await registerUser();
    const p1 = (await (await refresh(u.refreshToken)).json()) as Pair;
    const p2 = (await (await refresh(p1.refreshToken)).json()) as Pair;
    await expectProblem(await refresh(u.refreshToken), 401, "unauthorized"); // generation 0, two rotations ago
    await expectProblem(await refresh(p2.refreshToken), 401, "unauthorized");
    await expectProblem(await api("/v1/me", bearer(p2.accessToken)), 401, "unauthorized");
    const [row] = await testDb()
      .select()
      .from(sessions)
      .where(eq(sessions.id, sessionIdOf(u.refreshToken)));
    expect(row?.revokedReason).toBe("refresh_reuse");
  });

  it("two concurrent refreshes of the same token both succeed with the same successor (grace window)", async () => {
    const u = await registerUser();
    const [a, b] = await Promise.all([refresh(u.refreshToken), refresh(u.refreshToken)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const pa = (await a.json()) as Pair;
    const pb = (await b.json()) as Pair;
    expect(pa.refreshToken).toBe(pb.refreshToken);
    expect((await api("/v1/me", bearer(pa.accessToken))).status).toBe(200);
    expect((await api("/v1/me", bearer(pb.accessToken))).status).toBe(200);
    // A late tab presenting the parent again inside the window gets the same successor too.
    const late = (await (await refresh(u.refreshToken)).json()) as Pair;
    expect(late.refreshToken).toBe(pa.refreshToken);
    // Nothing was revoked: the successor still rotates.
    expect((await refresh(pa.refreshToken)).status).toBe(200);
  });

  it("outside the grace window, presenting the parent is reuse", async () => {
    const u = await registerUser();
    const p1 = (await (await refresh(u.refreshToken)).json()) as Pair;
    await testDb()
      .update(sessions)
      .set({ rotatedAt: new Date(Date.now() - 60_000).toISOString() })
      .where(eq(sessions.id, sessionIdOf(u.refreshToken)));
    await expectProblem(await refresh(u.refreshToken), 401, "unauthorized");
    await expectProblem(await refresh(p1.refreshToken), 401, "unauthorized");
  });

  it("a forged token for a real session is refused without revoking it", async () => {
    const u = await registerUser();
    const forged = `${sessionIdOf(u.refreshToken)}.0.${"A".repeat(43)}`;
    await expectProblem(await refresh(forged), 401, "unauthorized");
    await expectProblem(await refresh("garbage"), 401, "unauthorized");
    expect((await refresh(u.refreshToken)).status).toBe(200);
  });
});

describe("session revocation", () => {
  it("logout stops the refresh token and the current access token at once", async () => {
    const u = await registerUser();
    expect((await api("/v1/auth/logout", { method: "POST", ...bearer(u.accessToken) })).status).toBe(204);
    await expectProblem(await api("/v1/me", bearer(u.accessToken)), 401, "unauthorized");
    await expectProblem(await refresh(u.refreshToken), 401, "unauthorized");
  });

  it("password reset revokes every session of the user", async () => {
    const u = await registerUser();
    const second = (await (await login(u.email)).json()) as Pair;
    expect((await api("/v1/auth/password/forgot", jsonBody({ email: u.email }))).status).toBe(202);
    // The reset mail is sent after the response (same timing whether or not the account exists).
    const mail = await eventually(
      async () => {
        const outbox = (await (await api("/dev/outbox")).json()) as Array<{
          to: string;
          subject: string;
          token: string;
        }>;
        return outbox.filter((m) => m.to === u.email && /reset/i.test(m.subject)).at(-1);
      },
      5000,
      "the reset mail",
    );
    const newPassword = "another decent passphrase";
    expect(
      (await api("/v1/auth/password/reset", jsonBody({ token: mail!.token, password: newPassword }))).status,
    ).toBe(204);
    for (const token of [u.accessToken, second.accessToken]) {
      await expectProblem(await api("/v1/me", bearer(token)), 401, "unauthorized");
    }
    await expectProblem(await refresh(second.refreshToken), 401, "unauthorized");
    await expectProblem(await login(u.email, PASSWORD), 401, "invalid_credentials");
    expect((await login(u.email, newPassword)).status).toBe(200);
    // The token is single-use.
    await expectProblem(
      await api("/v1/auth/password/reset", jsonBody({ token: mail!.token, password: newPassword })),
      400,
      "validation_failed",
    );
  });

  it("forgot-password answers 202 for an unknown email too, and sends nothing", async () => {
    const email = `ghost-${crypto.randomUUID()}@example.test`;
    // settled(): the route's deferred work (where mail would be sent) has finished on return.
    expect((await settled("/v1/auth/password/forgot", jsonBody({ email }))).status).toBe(202);
    const outbox = (await (await api("/dev/outbox")).json()) as Array<{ to: string }>;
    expect(outbox.some((m) => m.to === email)).toBe(false);
  });

  it("changing the password revokes the other sessions and keeps this one", async () => {
    const u = await registerUser();
    const other = (await (await login(u.email)).json()) as Pair;
    const res = await api(
      "/v1/me/password",
      jsonBody({ currentPassword: PASSWORD, newPassword: "a brand new passphrase" }, bearer(u.accessToken)),
    );
    expect(res.status).toBe(204);
    expect((await api("/v1/me", bearer(u.accessToken))).status).toBe(200);
    await expectProblem(await api("/v1/me", bearer(other.accessToken)), 401, "unauthorized");
    const wrong = await api(
      "/v1/me/password",
      jsonBody(
        { currentPassword: "nope nope nope", newPassword: "whatever passphrase" },
        bearer(u.accessToken),
      ),
    );
    await expectProblem(wrong, 401, "invalid_credentials");
  });

  it("lists my sessions with user agent and IP, and revokes one by id (not someone else's)", async () => {
    const u = await registerUser();
    const other = (await (
      await api(
        "/v1/auth/login",
        jsonBody(
          { email: u.email, password: PASSWORD },
          { headers: { "user-agent": "TabTwo/1.0", "cf-connecting-ip": "10.9.8.7" } },
        ),
      )
    ).json()) as Pair;
    const list = (await (await api("/v1/me/sessions", bearer(u.accessToken))).json()) as {
      items: Array<{ id: string; current: boolean; userAgent: string | null; ip: string | null }>;
      nextCursor: string | null;
    };
    expect(list.items).toHaveLength(2);
    expect(list.items.filter((s) => s.current)).toHaveLength(1);
    const tab = list.items.find((s) => s.userAgent === "TabTwo/1.0");
    expect(tab?.ip).toBe("10.9.8.7");
    const page = (await (await api("/v1/me/sessions?limit=1", bearer(u.accessToken))).json()) as {
      items: unknown[];
      nextCursor: string | null;
    };
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const stranger = await registerUser();
    await expectProblem(
      await api(`/v1/me/sessions/${tab!.id}`, { method: "DELETE", ...bearer(stranger.accessToken) }),
      404,
      "not_found",
    );
    expect(
      (await api(`/v1/me/sessions/${tab!.id}`, { method: "DELETE", ...bearer(u.accessToken) })).status,
    ).toBe(204);
    await expectProblem(await api("/v1/me", bearer(other.accessToken)), 401, "unauthorized");
    await expectProblem(
      await api("/v1/me/sessions/NOT-AN-ID", { method: "DELETE", ...bearer(u.accessToken) }),
      400,
      "validation_failed",
    );
  });

  it("deleting the account revokes it and removes the user", async () => {
    const u = await registerUser();
    expect((await api("/v1/me", { method: "DELETE", ...bearer(u.accessToken) })).status).toBe(204);
    await expectProblem(await api("/v1/me", bearer(u.accessToken)), 401, "unauthorized");
    await expectProblem(await login(u.email), 401, "invalid_credentials");
  });

  it("PATCH /v1/me updates name and handle; a taken handle is 409", async () => {
    const u = await registerUser();
    const other = await registerUser();
    const ok = await api("/v1/me", {
      method: "PATCH",
      headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "New Name" }),
    });
    expect(await ok.json()).toMatchObject({ name: "New Name", handle: u.handle });
    const taken = await api("/v1/me", {
      method: "PATCH",
      headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ handle: other.handle }),
    });
    await expectProblem(taken, 409, "conflict");
    const bad = await api("/v1/me", {
      method: "PATCH",
      headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ handle: "NO CAPS" }),
    });
    await expectProblem(bad, 400, "validation_failed");
  });
});
