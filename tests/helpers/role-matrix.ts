import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { fromBase64url } from "../../src/lib/crypto.ts";
import { AuthResponseSchema } from "../../src/routes/auth/auth.schema.ts";
import { api, jsonBody, parsed } from "./api.ts";
import { insertOrg, registerGlobalAdmin } from "./orgs.ts";
import { expectProblem } from "./problem.ts";
import { bearer, login, registerUser, type TestUser } from "./users.ts";

/**
 * The role matrix (STYLE.md §14): every route of a feature × every kind of caller, each cell its
 * own test with the exact expected status. Each cell gets a fresh org, so destructive rows
 * (delete, remove, revoke, accept) never depend on each other, and a row's cells run concurrently.
 */
export const CALLERS = [
  "anonymous",
  "garbage",
  "forged",
  "tampered",
  "revoked",
  "outsider",
  "guest",
  "member",
  "admin",
  "owner",
  "globalAdmin",
] as const;
export type CallerKind = (typeof CALLERS)[number];

/** Expected statuses: one for the five bad-credential kinds, then one per authenticated kind. */
export function cells(
  unauthenticated: number,
  outsider: number,
  guest: number,
  member: number,
  admin: number,
  owner: number,
  globalAdmin: number,
): Record<CallerKind, number> {
  const u = unauthenticated;
  return {
    anonymous: u,
    garbage: u,
    forged: u,
    tampered: u,
    revoked: u,
    outsider,
    guest,
    member,
    admin,
    owner,
    globalAdmin,
  };
}

/** A table row: the status for bad credentials, outsider, guest, member, admin, owner, global admin. */
export type StatusRow = [number, number, number, number, number, number, number];

/** The matrix's route specs from a status table and, under the same names, how each row calls its route. */
export function routeSpecs<K extends string>(
  status: Record<K, StatusRow>,
  requests: Record<K, RouteSpec["request"]>,
  opts: { sequential?: boolean } = {},
): RouteSpec[] {
  return (Object.entries(status) as Array<[K, StatusRow]>).map(([name, row]) => ({
    name,
    expect: cells(...row),
    request: requests[name],
    ...opts,
  }));
}

/** The same users in every cell; each cell puts them in a fresh org with these roles. */
export interface Cast {
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
  guest: TestUser;
  outsider: TestUser;
  globalAdmin: TestUser;
  /** Targets: a second admin and a second member of every fresh org. */
  admin2: TestUser;
  member2: TestUser;
  tokens: Record<CallerKind, string | undefined>;
}

export interface World {
  cast: Cast;
  orgId: string;
  kind: CallerKind;
  /** Who the caller is, or claims to be (bad credentials claim to be the owner). */
  self: TestUser;
}

export interface MatrixRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  /** A raw body (file bytes), sent with `headers`; `body` is JSON. */
  raw?: BodyInit;
  headers?: Record<string, string>;
  /**
   * Reads back what the request changed, after every cell: a 2xx must have made its change, a
   * refusal must have left everything as it was. Gets the status and the response.
   */
  check?: (status: number, res: Response) => Promise<void>;
}

export interface RouteSpec {
  name: string;
  expect: Record<CallerKind, number>;
  request: (w: World) => MatrixRequest | Promise<MatrixRequest>;
  /**
   * A row's cells run concurrently (each has its own org), unless they share state beyond the
   * org: e.g. the owner's own notifications, which the bad-credential callers claim as theirs.
   */
  sequential?: boolean;
}

const CODES: Record<number, string> = {
  400: "validation_failed",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  410: "gone",
};

const payloadOf = (jwt: string) =>
  JSON.parse(new TextDecoder().decode(fromBase64url(jwt.split(".")[1]!))) as Record<string, unknown>;

/** A well-formed token with our kid and the owner's claims, signed by a key that is not ours. */
async function forge(real: string): Promise<string> {
  const header = JSON.parse(new TextDecoder().decode(fromBase64url(real.split(".")[0]!))) as { kid: string };
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const { sub, sid, iss, aud, exp, iat, jti } = payloadOf(real);
  return new SignJWT({ sid, role: "admin" })
    .setProtectedHeader({ alg: "EdDSA", kid: header.kid, typ: "at+jwt" })
    .setSubject(String(sub))
    .setIssuer(String(iss))
    .setAudience(aud as string)
    .setIssuedAt(Number(iat))
    .setExpirationTime(Number(exp))
    .setJti(String(jti))
    .sign(privateKey);
}

/** The owner's real token with its payload changed to claim the global admin role: signature no longer matches. */
function tamper(real: string): string {
  const [h, , s] = real.split(".");
  const payload = btoa(JSON.stringify({ ...payloadOf(real), role: "admin" }))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
  return `${h}.${payload}.${s}`;
}

/** A token of the owner's whose session was logged out. */
async function revokedToken(owner: TestUser): Promise<string> {
  const res = await login(owner.email, owner.password);
  const { accessToken } = await parsed(res, AuthResponseSchema);
  const out = await api("/v1/auth/logout", { ...bearer(accessToken), method: "POST" });
  if (out.status !== 204) throw new Error(`logout failed: ${out.status}`);
  return accessToken;
}

export async function createCast(): Promise<Cast> {
  const [owner, admin, member, guest, outsider, admin2, member2, globalAdmin] = await Promise.all([
    registerUser(),
    registerUser(),
    registerUser(),
    registerUser(),
    registerUser(),
    registerUser(),
    registerUser(),
    registerGlobalAdmin(),
  ]);
  const tokens: Record<CallerKind, string | undefined> = {
    anonymous: undefined,
    garbage: "not-a-token",
    forged: await forge(owner!.accessToken),
    tampered: tamper(owner!.accessToken),
    revoked: await revokedToken(owner!),
    outsider: outsider!.accessToken,
    guest: guest!.accessToken,
    member: member!.accessToken,
    admin: admin!.accessToken,
    owner: owner!.accessToken,
    globalAdmin: globalAdmin!.accessToken,
  };
  return {
    owner: owner!,
    admin: admin!,
    member: member!,
    guest: guest!,
    outsider: outsider!,
    globalAdmin: globalAdmin!,
    admin2: admin2!,
    member2: member2!,
    tokens,
  };
}

function selfOf(cast: Cast, kind: CallerKind): TestUser {
  switch (kind) {
    case "outsider":
    case "guest":
    case "member":
    case "admin":
    case "owner":
    case "globalAdmin":
      return cast[kind];
    default:
      return cast.owner;
  }
}

/** A 2xx: in a `check`, the change must have happened; otherwise nothing may have changed. */
export const isSuccess = (status: number) => status >= 200 && status < 300;

/** "METHOD /path" of every request the matrix made, for the coverage check. */
export const exercised = new Set<string>();

/**
 * Run after the matrix: every operation of these tags in /openapi.json was called by some row,
 * so a route added to a feature without a row fails. `atLeast` keeps it from passing vacuously
 * when a tag is renamed.
 */
export async function expectEveryOperationExercised(tags: string[], atLeast: number) {
  const doc = (await (await api("/openapi.json")).json()) as {
    paths: Record<string, Record<string, { tags?: string[] }>>;
  };
  const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => op.tags?.some((t) => tags.includes(t)))
      .map(([method]) => ({
        name: `${method.toUpperCase()} ${path}`,
        pattern: new RegExp(`^${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
      })),
  );
  expect(ops.length).toBeGreaterThanOrEqual(atLeast);
  const missing = ops.filter((op) => ![...exercised].some((e) => op.pattern.test(e)));
  expect(missing.map((op) => op.name)).toEqual([]);
}

/** Generates one test per route × caller and asserts the exact status (and problem code). */
export function runRoleMatrix(specs: RouteSpec[]) {
  let cast: Cast;
  beforeAll(async () => {
    cast = await createCast();
  });
  for (const spec of specs) {
    (spec.sequential ? describe : describe.concurrent)(spec.name, () => {
      it.each(CALLERS.map((kind) => [kind, spec.expect[kind]] as const))("%s → %i", async (kind, status) => {
        const orgId = await insertOrg(cast.owner, [
          [cast.admin, "admin"],
          [cast.admin2, "admin"],
          [cast.member, "member"],
          [cast.member2, "member"],
          [cast.guest, "guest"],
        ]);
        const req = await spec.request({ cast, orgId, kind, self: selfOf(cast, kind) });
        const token = cast.tokens[kind];
        const headers: Record<string, string> = { ...req.headers };
        if (token) headers.authorization = `Bearer ${token}`;
        const init =
          req.body === undefined
            ? { method: req.method, headers, body: req.raw ?? null, redirect: "manual" as const }
            : jsonBody(req.body, { method: req.method, headers });
        exercised.add(`${req.method} ${req.path.split("?")[0]}`);
        const res = await api(req.path, init);
        if (status >= 400) {
          await expectProblem(res.clone(), status, CODES[status]!);
        } else {
          expect(res.status, await res.clone().text()).toBe(status);
        }
        await req.check?.(res.status, res);
      });
    });
  }
}
