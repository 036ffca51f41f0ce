import type * as Party from "partykit/server";
import { SESSION_CHECK_MAX_IDS, SessionCheckSchema } from "../src/shared/internal-api.schema.ts";
import { CLOSE } from "../src/shared/realtime.ts";
import type { ConnState } from "./auth.ts";
import { envOf } from "./env.ts";
import { partyLog } from "./observability.ts";
import type { RoomStore } from "./room-store.ts";
import { callApi } from "./transport.ts";

/**
 * Revoked sessions reach open sockets: the room asks the API which of its connected sessions
 * were revoked (an alarm every SESSION_CHECK_SECONDS) and closes those sockets (1008). The API
 * takes at most SESSION_CHECK_MAX_IDS ids per call, so the ids go in pages. Fail closed: a page
 * that is refused, fails or does not parse is never read as "none revoked". Its sessions stay
 * "unverified" (kept in room storage); each later round asks again, and a session still
 * unverified after SESSION_FAIL_CLOSED_SECONDS has its sockets closed with 4000, so its clients
 * must get a new ticket, which the API only issues for a live session. A short outage closes
 * nobody. Returns the sockets it closed.
 */
export async function checkSessions(
  room: Party.Room,
  store: RoomStore<{ seq: number }>,
): Promise<Party.Connection<ConnState>[]> {
  const conns = [...room.getConnections<ConnState>()];
  const ids = [...new Set(conns.map((c) => c.state?.sessionId).filter((s): s is string => Boolean(s)))];
  const now = Date.now();
  const revoked = new Set<string>();
  let changed = false;
  for (let i = 0; i < ids.length; i += SESSION_CHECK_MAX_IDS) {
    const page = ids.slice(i, i + SESSION_CHECK_MAX_IDS);
    const answer = await revokedAmong(room.env, page);
    for (const id of page) {
      if (answer) {
        changed = store.unverified.delete(id) || changed;
        if (answer.has(id)) revoked.add(id);
      } else if (!store.unverified.has(id)) {
        store.unverified.set(id, now);
        changed = true;
      }
    }
  }
  const bound = envOf(room.env).SESSION_FAIL_CLOSED_SECONDS * 1000;
  const expired = new Set<string>();
  const connected = new Set(ids);
  for (const [id, since] of store.unverified) {
    if (!connected.has(id) || now - since >= bound) {
      store.unverified.delete(id);
      changed = true;
      if (connected.has(id)) expired.add(id);
    }
  }
  if (changed) store.saveUnverified();
  if (expired.size > 0) partyLog.warn("closing sockets of unverifiable sessions", { sessions: expired.size });
  const closed: Party.Connection<ConnState>[] = [];
  for (const c of conns) {
    const sid = c.state?.sessionId ?? "";
    if (revoked.has(sid)) c.close(1008, "session revoked");
    else if (expired.has(sid)) c.close(CLOSE.accessLost, "session could not be verified");
    else continue;
    closed.push(c);
  }
  return closed;
}

/** One page: the revoked ids, or undefined when the API did not give a usable answer. */
async function revokedAmong(env: Record<string, unknown>, sessionIds: string[]) {
  try {
    const res = await callApi(env, "/v1/internal/sessions/check", { method: "POST", body: { sessionIds } });
    if (res.status !== 200) {
      partyLog.warn("session check refused", { status: res.status, sessions: sessionIds.length });
      return undefined;
    }
    const parsed = SessionCheckSchema.safeParse(res.body);
    if (!parsed.success) {
      partyLog.warn("malformed API reply", { route: "sessions/check" });
      return undefined;
    }
    return new Set(parsed.data.revoked);
  } catch {
    return undefined; // API unreachable: unverified until the next round
  }
}
