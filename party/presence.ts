import type * as Party from "partykit/server";
import type { ConnState } from "./auth.ts";

/** Users present in a room: one entry per user however many tabs they have open, sorted. */
export function presenceOf(conns: Iterable<Party.Connection<ConnState>>): string[] {
  const users = new Set<string>();
  for (const c of conns) if (c.state?.userId) users.add(c.state.userId);
  return [...users].sort();
}
