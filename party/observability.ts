import { createLogger } from "../src/lib/log.ts";
import { requestIdOr } from "../src/lib/request-id.ts";
import { collectingContext, createSentry } from "../src/lib/sentry.ts";
import { envOf } from "./env.ts";

/** The caller's request id (the API's publisher sends it), or a fresh one; the API's own rule. */
export function requestIdOf(req: { headers: { get(name: string): string | null } }): string {
  return requestIdOr(req.headers.get("x-request-id"));
}

/** The API's JSON-lines logger (partykit prints them): one shape of log line on both sides. */
export const partyLog = createLogger("info");

export interface ErrorScope {
  party: string;
  room: string;
  requestId: string;
  userId?: string;
}

/**
 * Log a party error and send it to Sentry (when SENTRY_DSN is set), tagged with the party, the
 * room and the request id that also appears in the API's logs and in the client's error frame.
 */
export async function reportPartyError(env: Record<string, unknown>, err: unknown, scope: ErrorScope) {
  const e = err instanceof Error ? err : new Error(String(err));
  partyLog.error("party error", { ...scope, error: e.name, errorMessage: e.message });
  const { SENTRY_DSN: dsn, ENVIRONMENT, SENTRY_RELEASE } = envOf(env);
  if (!dsn) return;
  try {
    const { context, flush } = collectingContext();
    const sentry = createSentry({
      dsn,
      context,
      environment: ENVIRONMENT ?? "development",
      release: SENTRY_RELEASE,
    });
    sentry.setTags({
      runtime: "partykit",
      party: scope.party,
      room: scope.room,
      request_id: scope.requestId,
    });
    if (scope.userId) sentry.setUser({ id: scope.userId });
    sentry.captureException(e);
    await flush();
  } catch {
    // reporting must never break the party
  }
}
