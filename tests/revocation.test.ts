import { eq, sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { sessions } from "../src/db/schema.ts";
import { apiWithEnv, eventually, jsonBody, withFault } from "./helpers/api.ts";
import { testDb } from "./helpers/db.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, PASSWORD, randomIp } from "./helpers/users.ts";

/**
 * The per-isolate view of revoked sessions (src/services/identity/revocation.ts) as another
 * isolate sees a revocation: these writes go straight to the database, so this isolate learns
 * of them only through its syncs.
 */
const sidOf = (accessToken: string) =>
  (JSON.parse(atob(accessToken.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { sid: string })
    .sid;

async function registerWith(env: Record<string, string>) {
  const res = await apiWithEnv(
    env,
    "/v1/auth/register",
    jsonBody(
      { email: `rv-${crypto.randomUUID()}@example.test`, password: PASSWORD, name: "Revoked Later" },
      { headers: { "cf-connecting-ip": randomIp() } },
    ),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

describe("revocation seen by other isolates", () => {
  it("a revocation that took up to DB_TIMEOUT_MS to commit after its stamp is still seen", async () => {
    const env = { REVOCATION_SYNC_MS: "100" };
    const token = await registerWith(env);
    const sessionsOf = () => apiWithEnv(env, "/v1/me/sessions", bearer(token));
    expect((await sessionsOf()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 150));
    expect((await sessionsOf()).status).toBe(200); // this isolate synced after the stamp below
    // A slow revoking write: stamped 2.5 s ago by the database, committed only now.
    await testDb()
      .update(sessions)
      .set({ revokedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2.5 seconds')`, revokedReason: "test" })
      .where(eq(sessions.id, sidOf(token)));
    await eventually(
      async () => ((await sessionsOf()).status === 401 ? true : undefined),
      3000,
      "the access token refused",
    );
  });

  it("a view that cannot be refreshed is not trusted: with the database down, a request is a 503", async () => {
    await withFault("fault-sqld", async (fault) => {
      const env = { LIBSQL_URL: inject("faultSqldUrl"), REVOCATION_SYNC_MS: "200", DB_TIMEOUT_MS: "500" };
      const token = await registerWith(env);
      const me = () => apiWithEnv(env, "/v1/me", bearer(token));
      expect((await me()).status).toBe(200);
      expect((await me()).headers.get("x-cache")).toBe("HIT"); // served without the database
      await fault.stop();
      // Within a few sync intervals the cached answer may still go out; after them, never.
      await new Promise((r) => setTimeout(r, 3 * 1000 + 200));
      await expectProblem(await me(), 503, "dependency_unavailable");
    });
  });
});
