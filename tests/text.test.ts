import { describe, expect, it } from "vitest";
import { api, jsonBody } from "./helpers/api.ts";
import { declare } from "./helpers/files.ts";
import { authed, createOrg } from "./helpers/orgs.ts";
import { expectProblem } from "./helpers/problem.ts";
import { createRoom, rawSocket, ticketFor, until } from "./helpers/realtime.ts";
import { bearer, PASSWORD, randomIp, registerUser } from "./helpers/users.ts";

// What Petrel stores (src/lib/text.ts): well-formed Unicode everywhere, no control characters in
// names, tabs and newlines kept in bodies. JSON.stringify writes a lone surrogate as the escape
// `\ud800`, exactly what a client sends.
const LONE_HIGH = "before\ud800after";
const LONE_LOW = "\udc00";

async function expectRefused(res: Response, path: string) {
  const problem = await expectProblem(res, 400, "validation_failed");
  expect((problem.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
}

async function world() {
  const owner = await registerUser();
  const org = await createOrg(owner);
  const room = await createRoom(owner, org.id);
  return { owner, org, room };
}

const post = (token: string, roomId: string, body: string) =>
  api(`/v1/rooms/${roomId}/messages`, jsonBody({ body, clientId: crypto.randomUUID() }, bearer(token)));

describe("lone surrogates are a 400 validation_failed naming the field, never a 500", () => {
  it("on every stored text field", async () => {
    const { owner, org, room } = await world();
    const t = owner.accessToken;
    for (const bad of [LONE_HIGH, LONE_LOW]) {
      await expectRefused(await api("/v1/orgs", authed(t, "POST", { name: bad })), "name");
      await expectRefused(await api(`/v1/orgs/${org.id}`, authed(t, "PATCH", { name: bad })), "name");
      await expectRefused(
        await api(`/v1/orgs/${org.id}/rooms`, authed(t, "POST", { name: bad, visibility: "public" })),
        "name",
      );
      await expectRefused(await api(`/v1/rooms/${room.id}`, authed(t, "PATCH", { name: bad })), "name");
      await expectRefused(await post(t, room.id, bad), "body");
      await expectRefused(
        await declare(owner, { filename: `${bad}.png`, size: 10, orgId: org.id }),
        "filename",
      );
      await expectRefused(await api("/v1/me", authed(t, "PATCH", { name: bad })), "name");
    }
    const posted = await post(t, room.id, "fine");
    expect(posted.status).toBe(201);
    const { id } = (await posted.json()) as { id: string };
    await expectRefused(await api(`/v1/messages/${id}`, authed(t, "PATCH", { body: LONE_HIGH })), "body");
  });

  it("on sign-up: name and password", async () => {
    const register = (body: Record<string, string>) =>
      api(
        "/v1/auth/register",
        jsonBody(
          { email: `text-${crypto.randomUUID()}@example.test`, password: PASSWORD, name: "Ada", ...body },
          { headers: { "cf-connecting-ip": randomIp() } },
        ),
      );
    await expectRefused(await register({ name: LONE_HIGH }), "name");
    // Hashing would turn any lone surrogate into U+FFFD: "\ud800" and "\ud801" would be one password.
    await expectRefused(await register({ password: `${PASSWORD}${LONE_LOW}` }), "password");
  });
});

describe("control characters", () => {
  it("are refused in names and filenames, line breaks included", async () => {
    const { owner, org, room } = await world();
    const t = owner.accessToken;
    for (const bad of ["bell\u0007", "two\nlines", "nul\u0000", "c1\u0085", "sep\u2028x"]) {
      await expectRefused(await api("/v1/orgs", authed(t, "POST", { name: bad })), "name");
      await expectRefused(await api(`/v1/rooms/${room.id}`, authed(t, "PATCH", { name: bad })), "name");
      await expectRefused(await api("/v1/me", authed(t, "PATCH", { name: bad })), "name");
      await expectRefused(
        await declare(owner, { filename: `${bad}.png`, size: 10, orgId: org.id }),
        "filename",
      );
    }
  });

  it("message bodies keep tabs and newlines, store CR as LF, and refuse other controls", async () => {
    const { owner, room } = await world();
    const res = await post(owner.accessToken, room.id, "one\r\ntwo\rthree\n\tfour 🦜");
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { body: string }).body).toBe("one\ntwo\nthree\n\tfour 🦜");
    for (const bad of ["nul\u0000", "esc\u001b[31m", "del\u007f", "c1\u009b"])
      await expectRefused(await post(owner.accessToken, room.id, bad), "body");
  });

  it("well-formed text beyond ASCII is stored as sent", async () => {
    const { owner, org } = await world();
    const name = "Zoë 🦜 日本 ‍👩‍💻";
    const res = await api(`/v1/orgs/${org.id}`, authed(owner.accessToken, "PATCH", { name }));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe(name);
  });
});

describe("socket frames follow the same text rules", () => {
  it("a lone surrogate gets a validation_failed error frame, stores nothing, and the socket stays open", async () => {
    const { owner, room } = await world();
    const sock = await rawSocket((await ticketFor(owner, `room:${room.id}`)).body.url);
    await until(() => sock.frames.length > 0, 5000, "welcome");
    const bad = crypto.randomUUID();
    sock.ws!.send(JSON.stringify({ type: "message", clientId: bad, body: LONE_HIGH }));
    const good = crypto.randomUUID();
    sock.ws!.send(JSON.stringify({ type: "message", clientId: good, body: "a\r\nb" }));
    await until(() => sock.frames.some((f) => f.type === "ack"), 5000, "ack of the good frame");
    const errors = sock.frames.filter((f) => f.type === "error");
    expect(errors).toEqual([expect.objectContaining({ type: "error", code: "validation_failed" })]);
    expect(sock.frames.find((f) => f.type === "ack")).toMatchObject({ clientId: good, seq: 1 });
    expect(sock.closed()).toBeUndefined();
    const history = (await (
      await api(`/v1/rooms/${room.id}/messages`, bearer(owner.accessToken))
    ).json()) as {
      items: Array<{ clientId: string; body: string }>;
    };
    expect(history.items.map((m) => [m.clientId, m.body])).toEqual([[good, "a\nb"]]);
    sock.ws!.close();
  });
});
