/**
 * The chat party's calls to the API's internal routes on behalf of a client frame. Every reply
 * is parsed with the route's own schema (src/shared/internal-api.schema.ts) before it is used:
 * a reply that does not match is the API's failure, answered like an unreachable API.
 */
import type * as Party from "partykit/server";
import type { z } from "zod";
import { ProblemReplySchema } from "../src/shared/internal-api.schema.ts";
import { CLOSE } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { partyLog } from "./observability.ts";
import { callApi, send } from "./transport.ts";

export interface CallScope {
  env: Record<string, unknown>;
  room: string;
  report(err: unknown, requestId: string, userId?: string): Promise<unknown>;
}

export interface ApiCall<S extends z.ZodType> {
  path: string;
  method?: string;
  body?: unknown;
  /** The statuses whose body `schema` describes; any other status is a problem (refused). */
  ok: number[];
  schema: S;
  /** The `clientId` of the `message` frame being answered: every error frame carries it. */
  clientId?: string;
}

type Reply = { status: number; body: unknown; retryAfter?: number; cost?: string };

/**
 * Call an internal route and parse its reply. Undefined means the client was already answered:
 * an unreachable API or a malformed reply is `dependency_unavailable` (reported here), a problem
 * from the API goes through refused(). `retry` is the message that tells the client what to do.
 * Every route called here acts for the connection's user, so its 404 means that user may no
 * longer see the room (src/services/rooms/rooms.ts roomAccess): the socket is closed with 4000.
 */
export async function askApi<S extends z.ZodType>(
  scope: CallScope,
  conn: Party.Connection<ConnState>,
  requestId: string,
  retry: string,
  call: ApiCall<S>,
): Promise<{ status: number; body: z.output<S> } | undefined> {
  const answer = { requestId, ...(call.clientId !== undefined ? { clientId: call.clientId } : {}) };
  let res: Reply;
  try {
    res = await callApi(scope.env, call.path, { method: call.method, body: call.body, requestId });
  } catch (err) {
    return unavailable(scope, conn, answer, retry, err);
  }
  if (!call.ok.includes(res.status)) return refused(scope, conn, res, answer, retry);
  const parsed = call.schema.safeParse(res.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const error = new Error(
      `malformed API reply (${res.status}): ${issue?.path.join(".")}: ${issue?.message}`,
    );
    return unavailable(scope, conn, answer, retry, error);
  }
  return { status: res.status, body: parsed.data };
}

/** What every error frame about one client frame carries. */
export type Answer = { requestId: string; clientId?: string };

async function unavailable(
  scope: CallScope,
  conn: Party.Connection<ConnState>,
  answer: Answer,
  retry: string,
  err: unknown,
) {
  send(conn, { type: "error", code: "dependency_unavailable", message: retry, ...answer });
  await scope.report(err, answer.requestId, conn.state?.userId);
  return undefined;
}

/**
 * The API answered with a problem: pass a 4xx code on as it is; a 5xx (already in the API's
 * Sentry under this request id) is `dependency_unavailable` for the client, which retries.
 */
export function refused(scope: CallScope, conn: Party.Connection, res: Reply, answer: Answer, retry: string) {
  const parsed = ProblemReplySchema.safeParse(res.body);
  const problem = parsed.success ? parsed.data : {};
  partyLog[res.status >= 500 ? "error" : "info"]("api refused", {
    party: "chat",
    room: scope.room,
    status: res.status,
    code: problem.code,
    requestId: answer.requestId,
  });
  const code = res.status >= 500 ? "dependency_unavailable" : (problem.code ?? "rejected");
  send(conn, {
    type: "error",
    code,
    message: res.status >= 500 ? retry : (problem.detail ?? problem.title ?? "Rejected."),
    ...answer,
    ...(code === "rate_limited" ? { retryAfter: res.retryAfter ?? 1 } : {}),
  });
  if (res.status === 404 && code === "not_found") conn.close(CLOSE.accessLost, "access lost");
  return undefined;
}
