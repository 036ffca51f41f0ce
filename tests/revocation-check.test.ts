import { decodeJwt } from "jose";
import { describe, expect, inject, it } from "vitest";
import { SESSION_CHECK_MAX_IDS } from "../src/shared/internal-api.schema.ts";
import { SERVICE_AUTH_HEADER } from "../src/shared/realtime.ts";
import { api, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, registerUser } from "./helpers/users.ts";

/**
 * POST /v1/internal/sessions/check, the route the parties page their open sessions through
 * (party/sessions.ts; the paging itself is tests/node/session-check.test.ts).
 */
const check = (sessionIds: string[]) =>
  api(
    "/v1/internal/sessions/check",
    jsonBody({ sessionIds }, { headers: { [SERVICE_AUTH_HEADER]: inject("bindings").SERVICE_TOKEN! } }),
  );

describe("the session check route", () => {
  it("answers a full page of 1,000 ids with the revoked, expired and unknown ones, and refuses 1,001", async () => {
    const [live, gone] = await Promise.all([registerUser(), registerUser()]);
    const sid = (u: { accessToken: string }) => decodeJwt(u.accessToken).sid as string;
    expect((await api("/v1/auth/logout", { method: "POST", ...bearer(gone.accessToken) })).status).toBe(204);
    const unknown = Array.from({ length: SESSION_CHECK_MAX_IDS - 2 }, () => crypto.randomUUID());
    const res = await check([sid(live), sid(gone), ...unknown]);
    expect(res.status).toBe(200); // a full page of real-length ids fits the body limit
    const { revoked } = (await res.json()) as { revoked: string[] };
    expect(new Set(revoked)).toEqual(new Set([sid(gone), ...unknown]));
    await expectProblem(
      await check([...unknown, sid(live), sid(gone), crypto.randomUUID()]),
      400,
      "validation_failed",
    );
  });
});
