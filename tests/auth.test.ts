import { describe, expect, it } from "vitest";
import { api, jsonBody } from "./helpers/api.ts";
import { expectProblem } from "./helpers/problem.ts";
import { bearer, login, PASSWORD, randomIp, registerUser } from "./helpers/users.ts";

async function outboxFor(email: string) {
  const res = await api("/dev/outbox");
  const all = (await res.json()) as Array<{ to: string; subject: string; token: string | null }>;
  return all.filter((m) => m.to === email);
}

describe("accounts", () => {
  it("registers, returns the user and tokens with no-store, and /v1/me answers with the same user", async () => {
    const email = `Mixed.Case-${crypto.randomUUID()}@Example.test`;
    const res = await api(
      "/v1/auth/register",
      jsonBody(
        { email, password: PASSWORD, name: "Ada Lovelace" },
        { headers: { "cf-connecting-ip": randomIp() } },
      ),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as {
      user: Record<string, unknown>;
      accessToken: string;
      refreshToken: string;
      expiresIn: number;
    };
    expect(body.user).toMatchObject({
      email: email.toLowerCase(),
      name: "Ada Lovelace",
      role: "user",
      emailVerified: false,
    });
    expect(body.user.handle).toMatch(/^ada_lovelace(_\d+)?$/);
    expect(body.expiresIn).toBe(900);
    const me = await api("/v1/me", bearer(body.accessToken));
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(body.user);
  });

  it("refuses a duplicate email or handle with 409, and a weak password with 400", async () => {
    const u = await registerUser();
    const dupEmail = await api(
      "/v1/auth/register",
      jsonBody({ email: u.email.toUpperCase(), password: PASSWORD, name: "X" }),
    );
    await expectProblem(dupEmail, 409, "conflict");
    const dupHandle = await api(
      "/v1/auth/register",
      jsonBody({
        email: `o-${crypto.randomUUID()}@example.test`,
        password: PASSWORD,
        name: "X",
        handle: u.handle,
      }),
    );
    await expectProblem(dupHandle, 409, "conflict");
    const weak = await api(
      "/v1/auth/register",
      jsonBody({ email: `w-${crypto.randomUUID()}@example.test`, password: "short", name: "X" }),
    );
    const problem = await expectProblem(weak, 400, "validation_failed");
    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: "password" })]));
  });

  it("logs in; unknown email and wrong password get the same 401 body", async () => {
    const u = await registerUser();
    const ok = await login(u.email);
    expect(ok.status).toBe(200);
    const wrong = await login(u.email, "not the right passphrase");
    const unknown = await login(`nobody-${crypto.randomUUID()}@example.test`);
    const a = await expectProblem(wrong, 401, "invalid_credentials");
    const b = await expectProblem(unknown, 401, "invalid_credentials");
    const strip = ({ requestId: _r, ...rest }: Record<string, unknown>) => rest;
    expect(strip(a)).toEqual(strip(b));
  });

  it("verifies the email with the token from the outbox", async () => {
    const u = await registerUser();
    const [mail] = await outboxFor(u.email);
    expect(mail?.subject).toMatch(/confirm/i);
    const res = await api("/v1/auth/verify-email", jsonBody({ token: mail!.token }));
    expect(res.status).toBe(204);
    const me = (await (await api("/v1/me", bearer(u.accessToken))).json()) as { emailVerified: boolean };
    expect(me.emailVerified).toBe(true);
    await expectProblem(
      await api("/v1/auth/verify-email", jsonBody({ token: mail!.token })),
      400,
      "validation_failed",
    );
  });
});
