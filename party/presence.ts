import type * as Party from "partykit/server";
import type { ConnState } from "./auth.ts";
import type { RoomStore } from "./room-store.ts";

/**
 * Presence: one entry per user however many sockets they hold, kept as the set the room last
 * announced (RoomStore.present, in storage). A user is present while one of their sockets is open;
 * sockets without a heartbeat within the lease are closed (lifecycle.ts), which makes them leave.
 * Every change is sent as `presence_diff {joined, left}`; only `welcome` carries the full list.
 */
export interface PresenceDiff {
  joined: string[];
  left: string[];
}

/** Whether the user has an open socket here, not counting the ones in `closing`. */
function hasOpenSocket(room: Party.Room, userId: string, closing?: ReadonlySet<string>): boolean {
  for (const c of room.getConnections(userId)) if (!closing?.has(c.id)) return true;
  return false;
}

/** Bring the announced set in line with the open sockets of these users; returns what changed. */
export function reconcile(
  room: Party.Room,
  store: RoomStore<{ seq: number }>,
  users: Iterable<string>,
  closing?: ReadonlySet<string>,
): PresenceDiff {
  const diff: PresenceDiff = { joined: [], left: [] };
  for (const userId of new Set(users)) {
    const open = hasOpenSocket(room, userId, closing);
    if (open === store.present.has(userId)) continue;
    (open ? diff.joined : diff.left).push(userId);
    store.setPresent(userId, open);
  }
  return diff;
}

/**
 * Every user the room announced: whoever has no open socket any more leaves (after a restart, an
 * eviction, or closes whose close frame never came back). Joins happen only in the welcome path
 * (RoomLife.join), so a socket that is still being admitted is never announced before its welcome.
 */
export function reconcileAll(room: Party.Room, store: RoomStore<{ seq: number }>): PresenceDiff {
  return reconcile(room, store, [...store.present]);
}

/** Send a non-empty diff to everyone but `without` (e.g. the socket that was just welcomed). */
export function announce(room: Party.Room, diff: PresenceDiff, without: string[] = []) {
  if (diff.joined.length === 0 && diff.left.length === 0) return;
  room.broadcast(
    JSON.stringify({ type: "presence_diff", joined: diff.joined.sort(), left: diff.left.sort() }),
    without,
  );
}

/** The users of these (just closed) sockets, for reconcile(). */
export const usersOf = (conns: Iterable<Party.Connection<ConnState>>) =>
  [...conns].map((c) => c.state?.userId).filter((u): u is string => Boolean(u));
