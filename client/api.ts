/**
 * The typed API client: `hc` from hono/client over an explicit route table.
 *
 * The Worker's exported `App` type does not carry route types yet (createApp mounts routers with
 * statements), so the routes this client uses are declared here, with payload types inferred from
 * the server's own zod schemas where they are exported. When the app exports a chained `AppType`,
 * replace `Routes` with it: the calls below keep their shape.
 */
import type { z } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { hc } from "hono/client";
import type { AuthResponseSchema, UserSchema } from "../src/routes/auth/auth.schema.ts";
import type { CreatedFileSchema, FileSchema } from "../src/routes/files/files.schema.ts";
import type { InvitationSchema, MemberSchema, OrgSchema } from "../src/routes/orgs/orgs.schema.ts";
import type { RoomSchema } from "../src/routes/rooms/rooms.schema.ts";
import type { Message, MessageHistory } from "../src/shared/message.schema.ts";
import type { Notification } from "../src/shared/notification.schema.ts";

export type User = z.output<typeof UserSchema>;
export type AuthResponse = z.output<typeof AuthResponseSchema>;
export type Org = z.output<typeof OrgSchema>;
export type Member = z.output<typeof MemberSchema>;
export type Invitation = z.output<typeof InvitationSchema>;
export type Room = z.output<typeof RoomSchema>;
export type { Message, Notification };
export type History = MessageHistory;
export type OrgRole = Org["role"];
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export type FileInfo = z.output<typeof FileSchema>;
export type CreatedFile = z.output<typeof CreatedFileSchema>;
/** RFC 9457 problem document, as every error answers. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  requestId?: string;
  errors?: Array<{ path: string; message: string }>;
}

type Ok<I, O, S extends 200 | 201 | 202 = 200> = { input: I; output: O; outputFormat: "json"; status: S };
type NoContent<I> = { input: I; output: null; outputFormat: "body"; status: 204 | 202 };
type P<K extends string> = { param: Record<K, string> };
type PageQuery = { query: { limit?: string; cursor?: string } };

/** The slice of the API the client uses; paths and bodies as in API.md. */
type Routes = {
  "/v1/auth/register": {
    $post: Ok<
      { json: { email: string; password: string; name: string; handle?: string } },
      AuthResponse,
      201
    >;
  };
  "/v1/auth/login": { $post: Ok<{ json: { email: string; password: string } }, AuthResponse> };
  "/v1/auth/refresh": { $post: Ok<object, AuthResponse> };
  "/v1/auth/logout": { $post: NoContent<object> };
  "/v1/auth/oauth/exchange": { $post: Ok<{ json: { code: string } }, AuthResponse> };
  "/v1/auth/verify-email": { $post: NoContent<{ json: { token: string } }> };
  "/v1/auth/password/forgot": { $post: NoContent<{ json: { email: string } }> };
  "/v1/auth/password/reset": { $post: NoContent<{ json: { token: string; password: string } }> };
  "/v1/me": { $get: Ok<object, User> };
  "/v1/orgs": {
    $get: Ok<PageQuery, Page<Org>>;
    $post: Ok<{ json: { name: string; slug?: string } }, Org, 201>;
  };
  "/v1/orgs/:orgId/members": { $get: Ok<P<"orgId"> & PageQuery, Page<Member>> };
  "/v1/orgs/:orgId/invitations": {
    $post: Ok<P<"orgId"> & { json: { email: string; role: OrgRole } }, Invitation, 201>;
  };
  "/v1/invitations/:token/accept": { $post: Ok<P<"token">, Org> };
  "/v1/orgs/:orgId/rooms": {
    $get: Ok<P<"orgId"> & PageQuery, Page<Room>>;
    $post: Ok<P<"orgId"> & { json: { name: string; visibility: "public" | "private" } }, Room, 201>;
  };
  "/v1/rooms/:roomId": { $get: Ok<P<"roomId">, Room> };
  "/v1/rooms/:roomId/read": { $post: NoContent<P<"roomId"> & { json: { seq: number } }> };
  "/v1/rooms/:roomId/messages": {
    $get: Ok<P<"roomId"> & { query: { afterSeq?: string; beforeSeq?: string; limit?: string } }, History>;
  };
  "/v1/messages/:messageId": {
    $patch: Ok<P<"messageId"> & { json: { body: string } }, Message>;
    $delete: NoContent<P<"messageId">>;
  };
  "/v1/notifications": { $get: Ok<PageQuery & { query: { unread?: "true" | "false" } }, Page<Notification>> };
  "/v1/notifications/:notificationId/read": { $post: NoContent<P<"notificationId">> };
  "/v1/notifications/read-all": { $post: NoContent<object> };
  "/v1/files": {
    $post: Ok<
      { json: { filename: string; contentType: string; size: number; orgId: string; roomId?: string } },
      CreatedFile,
      201
    >;
  };
  "/v1/files/:fileId": { $get: Ok<P<"fileId">, FileInfo> };
  "/v1/files/:fileId/complete": { $post: Ok<P<"fileId">, FileInfo> };
};

export class ApiProblem extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "ApiProblem";
    this.problem = problem;
  }
  get code() {
    return this.problem.code;
  }
  /** A field-level message for a form, if the server named one. */
  fieldError(path: string): string | undefined {
    return this.problem.errors?.find((e) => e.path === path)?.message;
  }
}

/** A typed client; `fetch` decides credentials (see session.ts). */
export function createClient(baseUrl: string, fetchFn: typeof fetch) {
  return hc<Hono<object, Routes, "/">>(baseUrl, { fetch: fetchFn });
}
export type Client = ReturnType<typeof createClient>;

/** Await a typed call: its JSON on success, an ApiProblem otherwise. */
export async function ok<T>(
  pending: Promise<{ ok: boolean; status: number; json(): Promise<T> }>,
): Promise<T> {
  const res = await pending;
  if (res.ok) return res.status === 204 || res.status === 202 ? (undefined as T) : res.json();
  throw await problemOf(res as unknown as Response);
}

export async function problemOf(res: Response): Promise<ApiProblem> {
  const body = (await res.json().catch(() => null)) as Partial<Problem> | null;
  return new ApiProblem({
    title: body?.title ?? res.statusText ?? "Request failed",
    status: res.status,
    code: body?.code ?? (res.status >= 500 ? "internal" : "error"),
    detail: body?.detail,
    requestId: body?.requestId ?? res.headers.get("x-request-id") ?? undefined,
    errors: body?.errors,
  });
}
