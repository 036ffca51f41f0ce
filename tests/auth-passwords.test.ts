import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../src/db/schema.ts";
import { hashPassword, verifyPassword } from "../src/services/identity/passwords.ts";
import { apiWithEnv, jsonBody } from "./helpers/api.ts";
import { testDb } from "./helpers/db.ts";
import { PASSWORD, randomIp, registerUser } from "./helpers/users.ts";

const PRODUCTION = { PASSWORD_ITERATIONS: "600000" };

describe("password hashing", () => {
  it("registers and logs in end to end with the production parameters (600,000 PBKDF2-SHA-256 iterations)", async () => {
    const email = `prod-${crypto.randomUUID()}@example.test`;
    const reg = await apiWithEnv(
      PRODUCTION,
      "/v1/auth/register",
      jsonBody({ email, password: PASSWORD, name: "Prod" }, { headers: { "cf-connecting-ip": randomIp() } }),
    );
    expect(reg.status).toBe(201);
    const [row] = await testDb()
      .select({ hash: users.passwordHash })
      .from(users)
      .where(eq(users.email, email));
    expect(row?.hash).toMatch(/^pbkdf2-sha256\$600000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const login = await apiWithEnv(
      PRODUCTION,
      "/v1/auth/login",
      jsonBody({ email, password: PASSWORD }, { headers: { "cf-connecting-ip": randomIp() } }),
    );
    expect(login.status).toBe(200);
  });

  it("re-hashes transparently on login when the parameters changed", async () => {
    const u = await registerUser(); // hashed with the test parameters (1000)
    const [before] = await testDb()
      .select({ hash: users.passwordHash })
      .from(users)
      .where(eq(users.id, u.id));
    expect(before?.hash).toMatch(/^pbkdf2-sha256\$1000\$/);
    const res = await apiWithEnv(
      { PASSWORD_ITERATIONS: "2000" },
      "/v1/auth/login",
      jsonBody({ email: u.email, password: u.password }, { headers: { "cf-connecting-ip": randomIp() } }),
    );
    expect(res.status).toBe(200);
    const [after] = await testDb().select({ hash: users.passwordHash }).from(users).where(eq(users.id, u.id));
    expect(after?.hash).toMatch(/^pbkdf2-sha256\$2000\$/);
  });

  it("salts every hash, verifies only the right password, and rejects unknown formats", async () => {
    const a = await hashPassword("same password here", 1000);
    const b = await hashPassword("same password here", 1000);
    expect(a).not.toBe(b);
    expect((await verifyPassword("same password here", a, 1000)).ok).toBe(true);
    expect((await verifyPassword("same password herE", a, 1000)).ok).toBe(false);
    expect((await verifyPassword("x", "md5$abc", 1000)).ok).toBe(false);
    // Past workerd's 100,000-per-call cap the work is split into rounds; still deterministic.
    const big = await hashPassword("round trip", 250_000);
    expect(await verifyPassword("round trip", big, 250_000)).toEqual({ ok: true, needsRehash: false });
  });
});
