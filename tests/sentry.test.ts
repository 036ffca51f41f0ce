import { env } from "cloudflare:test";
import { describe, expect, inject, it, vi } from "vitest";
import { SERVICE_AUTH_HEADER } from "../src/shared/realtime.ts";
import { apiWithEnv, eventually, jsonBody, settled } from "./helpers/api.ts";
import { failingTrigger } from "./helpers/faults.ts";
import { createOrg, insertInvitation } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { rawSocket, roomFixture, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, PASSWORD, registerUser } from "./helpers/users.ts";

/**
 * Sentry, end to end: toucan-js sends real envelopes to the local sink (scripts/lib/sentry-sink.ts),
 * and these tests read them back.
 */
interface Envelope {
  raw: string;
  items: unknown[];
}
interface SentryEvent {
  tags?: Record<string, string>;
  user?: Record<string, unknown>;
  release?: string;
  environment?: string;
  request?: { data?: unknown; query_string?: string; headers?: Record<string, string>; cookies?: unknown };
  exception?: { values?: Array<{ type?: string; value?: string }> };
}

const sink = () => inject("sentryUrl");
const bindings = env as unknown as Record<string, string>;

async function envelopesWith(text: string): Promise<Envelope[]> {
  return (await (
    await fetch(`${sink()}/envelopes?contains=${encodeURIComponent(text)}`)
  ).json()) as Envelope[];
}

/**
 * The envelopes that mention `text`, exactly `count` of them. Requests made with settled() or
 * apiWithEnv() have finished their deferred work, so everything they send has arrived. partykit and
 * wrangler dev are other processes: wait for its envelopes, then give a duplicate time to follow.
 */
async function exactly(
  text: string,
  count: number,
  from: "worker" | "remote" = "worker",
): Promise<Envelope[]> {
  if (from === "remote") {
    await eventually(
      async () => ((await envelopesWith(text)).length >= count ? true : undefined),
      10_000,
      `${count} envelope(s) with ${text}`,
    );
    await new Promise((r) => setTimeout(r, 500)); // another process's waitUntil: not observable from here
  }
  const list = await envelopesWith(text);
  expect(list, `envelopes mentioning ${text}`).toHaveLength(count);
  return list;
}

const eventOf = (e: Envelope) =>
  e.items.find((i): i is SentryEvent => typeof i === "object" && i !== null && "platform" in i)!;

describe("Sentry: what is reported", () => {
  it("an unexpected error is one event with request id, user id, release and environment, and no secret", async () => {
    const user = await registerUser();
    const trigger = await failingTrigger("users", "update", `$row.id = '${user.id}'`);
    const requestId = `sentry-${crypto.randomUUID()}`;
    const newPassword = "another secret passphrase for sentry";
    try {
      const res = await settled("/v1/me/password?token=query-secret-123&limit=5", {
        method: "POST",
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          cookie: `petrel_rt=${user.refreshToken}; theme=cookie-secret-456`,
          "content-type": "application/json",
          "x-request-id": requestId,
        },
        body: JSON.stringify({ currentPassword: PASSWORD, newPassword }),
      });
      const body = await expectProblem(res, 500, "internal");
      expect(Object.keys(body).sort()).toEqual(["code", "requestId", "status", "title", "type"]);
    } finally {
      await trigger.drop();
    }
    const [envelope] = await exactly(requestId, 1);
    const event = eventOf(envelope!);
    expect(event.tags).toMatchObject({ request_id: requestId, route: "POST /v1/me/password" });
    expect(event.user).toEqual({ id: user.id });
    expect(event.release).toBe("petrel@test");
    expect(event.environment).toBe("test");
    expect(event.exception?.values?.some((v) => v.value?.includes("injected failure"))).toBe(true);
    // The body is there to debug with, with its secrets filtered.
    expect(event.request?.data).toEqual({ currentPassword: "[Filtered]", newPassword: "[Filtered]" });
    expect(event.request?.query_string).toBe("limit=5");
    for (const secret of [
      user.accessToken,
      user.refreshToken,
      user.refreshToken.split(".").at(-1)!,
      PASSWORD,
      newPassword,
      "query-secret-123",
      "cookie-secret-456",
      user.email,
    ]) {
      expect(envelope!.raw.includes(secret), `the envelope contains ${secret.slice(0, 12)}…`).toBe(false);
    }
    expect(envelope!.raw).not.toMatch(/"authorization"|"cookies?"|petrel_rt/i);
  });

  it("a dependency failure (503) is one event tagged with the dependency", async () => {
    const requestId = `sentry-dep-${crypto.randomUUID()}`;
    const res = await apiWithEnv(
      { LIBSQL_URL: "http://127.0.0.1:1" },
      "/v1/auth/login",
      jsonBody(
        { email: "nobody@example.test", password: "whatever it is" },
        { headers: { "x-request-id": requestId } },
      ),
    );
    await expectProblem(res, 503, "dependency_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const [envelope] = await exactly(requestId, 1);
    expect(eventOf(envelope!).tags).toMatchObject({ request_id: requestId, dependency: "database" });
    expect(envelope!.raw).not.toContain("whatever it is");
  });

  it("expected 4xx answers are never reported (and an unexpected error in the same batch is)", async () => {
    const prefix = `nocapture-${crypto.randomUUID()}`;
    const id = (n: number) => ({ "x-request-id": `${prefix}-${n}` });
    const user = await registerUser();
    const answers = await Promise.all([
      settled("/v1/me", { headers: id(1) }),
      settled("/v1/me", { headers: { ...id(2), authorization: "Bearer a.b.c" } }),
      settled("/dev/echo", {
        method: "POST",
        headers: { ...id(3), "content-type": "application/json" },
        body: "{",
      }),
      settled("/no/such/route", { headers: id(4) }),
      settled("/v1/admin/users", bearer(user.accessToken, id(5))),
      settled(
        "/v1/auth/register",
        jsonBody({ email: user.email, password: PASSWORD, name: "Twin" }, { headers: id(6) }),
      ),
      settled("/v1/auth/login", {
        method: "POST",
        headers: { ...id(7), "content-type": "text/plain" },
        body: "{}",
      }),
      settled("/v1/auth/login", jsonBody({ pad: "x".repeat(20_000) }, { headers: id(8) })),
    ]);
    expect(answers.map((r) => r.status)).toEqual([401, 401, 400, 404, 403, 409, 415, 413]);
    const boom = await settled("/dev/boom", { headers: id(9) });
    expect(boom.status).toBe(500);
    const [envelope] = await exactly(prefix, 1);
    expect(eventOf(envelope!).tags?.request_id).toBe(`${prefix}-9`);
  });

  it("is off without a DSN", async () => {
    const requestId = `sentry-off-${crypto.randomUUID()}`;
    const res = await apiWithEnv({ SENTRY_DSN: "" }, "/dev/boom", { headers: { "x-request-id": requestId } });
    await expectProblem(res, 500, "internal"); // apiWithEnv: its deferred work has finished
    expect(await envelopesWith(requestId)).toEqual([]);
  });
});

describe("Sentry and logs never carry an invitation token", () => {
  it("a failed accept: the token is in no part of the envelope and in no log line", async () => {
    const owner = await registerUser();
    const invitee = await registerUser({ verified: true });
    const org = await createOrg(owner);
    const { token } = await insertInvitation(org.id, invitee.email, "member");
    const trigger = await failingTrigger("memberships", "insert", `$row.user_id = '${invitee.id}'`);
    const requestId = `sentry-invite-${crypto.randomUUID()}`;
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((m) =>
      vi
        .spyOn(console, m)
        .mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" "))),
    );
    try {
      // At info level (tests log at warn), so the access log line is written too.
      const res = await apiWithEnv({ LOG_LEVEL: "info" }, `/v1/invitations/${token}/accept`, {
        method: "POST",
        ...bearer(invitee.accessToken, { "x-request-id": requestId }),
      });
      await expectProblem(res, 500, "internal");
    } finally {
      for (const spy of spies) spy.mockRestore();
      await trigger.drop();
    }
    const [envelope] = await exactly(requestId, 1);
    expect(envelope!.raw.includes(token), "the envelope contains the token").toBe(false);
    expect(envelope!.raw).toContain("/v1/invitations/[Filtered]/accept");
    const logged = lines.filter((l) => l.includes(requestId));
    expect(logged.some((l) => l.includes('"msg":"request"'))).toBe(true); // the access log line
    expect(logged.filter((l) => l.includes(token))).toEqual([]);
  });
});

describe("Sentry and request ids across the party", () => {
  it("a party error is reported from partykit's runtime with the request id it was called with", async () => {
    const requestId = `party-${crypto.randomUUID()}`;
    const res = await fetch(`${inject("partyUrl")}/parties/chat/${crypto.randomUUID()}`, {
      method: "POST",
      headers: {
        [SERVICE_AUTH_HEADER]: bindings.SERVICE_TOKEN!,
        "x-request-id": requestId,
        "x-petrel-debug": "boom",
        "content-type": "application/json",
      },
      body: "{}",
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal", requestId });
    const [envelope] = await exactly(requestId, 1, "remote");
    const event = eventOf(envelope!);
    expect(event.tags).toMatchObject({ runtime: "partykit", party: "chat", request_id: requestId });
    expect(event.environment).toBe("test");
    expect(event.exception?.values?.some((v) => v.value?.includes("party boom"))).toBe(true);
  });

  it("one id follows a socket message: error frame, API call and the API's Sentry event", async () => {
    const { owner, room } = await roomFixture();
    const trigger = await failingTrigger("messages", "insert", `$row.room_id = '${room.id}'`);
    const sock = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    try {
      await until(() => sock.frames.length > 0, 5000, "welcome");
      sock.ws!.send(JSON.stringify({ type: "message", clientId: crypto.randomUUID(), body: "doomed" }));
      await until(() => sock.frames.some((f) => f.type === "error"), 10_000, "an error frame");
    } finally {
      await trigger.drop();
      sock.ws?.close();
    }
    const frame = sock.frames.find((f) => f.type === "error") as { code: string; requestId?: string };
    expect(frame.code).toBe("dependency_unavailable");
    expect(frame.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The API (the Worker behind partykit) reported the failed write under the frame's id, once;
    // the party did not report it a second time.
    const [envelope] = await exactly(frame.requestId!, 1, "remote");
    expect(eventOf(envelope!).tags).toMatchObject({
      request_id: frame.requestId,
      route: "POST /v1/internal/rooms/:roomId/messages/batch", // socket messages go through the group commit
    });
  });
});
