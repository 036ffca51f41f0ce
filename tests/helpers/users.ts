import { AuthResponseSchema } from "../../src/routes/auth/auth.schema.ts";
import { api, jsonBody, parsed } from "./api.ts";
import { latestMail } from "./orgs.ts";

let counter = 0;
/** A distinct client IP per simulated client, so rate limits count each one separately. */
export function randomIp(): string {
  const r = crypto.getRandomValues(new Uint8Array(3));
  return `10.${r[0]}.${r[1]}.${r[2]}`;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  handle: string;
  accessToken: string;
  refreshToken: string;
  ip: string;
}

export const PASSWORD = "a perfectly fine passphrase";

export function bearer(token: string, extra: Record<string, string> = {}): RequestInit {
  return { headers: { authorization: `Bearer ${token}`, ...extra } };
}

export async function registerUser(
  overrides: { name?: string; email?: string; handle?: string; verified?: boolean } = {},
): Promise<TestUser> {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const ip = randomIp();
  const email = overrides.email ?? `user-${n}@example.test`;
  const res = await api(
    "/v1/auth/register",
    jsonBody(
      {
        email,
        password: PASSWORD,
        name: overrides.name ?? `User ${n}`,
        handle: overrides.handle ?? `u_${n}`.slice(0, 30),
      },
      { headers: { "cf-connecting-ip": ip } },
    ),
  );
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = await parsed(res, AuthResponseSchema);
  if (!body.refreshToken) throw new Error("register: no refresh token in the bearer flow");
  if (overrides.verified) await verifyEmail(email);
  return {
    id: body.user.id,
    email,
    password: PASSWORD,
    handle: body.user.handle,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    ip,
  };
}

export async function login(email: string, password = PASSWORD, ip = randomIp()) {
  return api("/v1/auth/login", jsonBody({ email, password }, { headers: { "cf-connecting-ip": ip } }));
}

/** Confirm an address the real way: the token from the verification mail, to verify-email. */
export async function verifyEmail(email: string) {
  const mail = await latestMail(email, /Confirm your email/);
  const res = await api("/v1/auth/verify-email", jsonBody({ token: mail.token }));
  if (res.status !== 204) throw new Error(`verify-email failed: ${res.status} ${await res.text()}`);
}
