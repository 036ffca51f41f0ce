import type * as Party from "partykit/server";
import { envOf } from "./env.ts";

/**
 * Development and test hooks on the service channel (POST with the service credential and an
 * `x-petrel-debug` header). Off unless the party's ENVIRONMENT is development or test: a
 * production deploy (ENVIRONMENT unset, staging or production) ignores the header.
 * - `boom`: throw, to prove party errors reach Sentry (like the API's /dev/boom).
 * - `instance`: which server instance answers, so a test can see a real eviction.
 * - `rebuild`: drop everything the instance holds in memory and rebuild it from room storage and
 *   connection state over the live sockets, at the moment the test chooses.
 */
export type DebugAction = "boom" | "instance" | "rebuild";

export const isDevEnvironment = (env: Record<string, unknown>) => {
  const { ENVIRONMENT } = envOf(env);
  return ENVIRONMENT === "development" || ENVIRONMENT === "test";
};

export function debugAction(req: Party.Request, env: Record<string, unknown>): DebugAction | undefined {
  const action = req.headers.get("x-petrel-debug");
  if (action !== "boom" && action !== "instance" && action !== "rebuild") return undefined;
  return isDevEnvironment(env) ? action : undefined;
}
