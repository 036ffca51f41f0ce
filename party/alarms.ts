import type * as Party from "partykit/server";
import { partyLog } from "./observability.ts";
import type { RoomStore, Task } from "./room-store.ts";

/**
 * A room's timed work on its one Durable Object alarm instead of timers: a pending setTimeout or
 * setInterval keeps an instance from hibernating, and dies with it when it is evicted. Each task's
 * next time is kept in room storage (RoomStore.due); the alarm is set to the earliest one.
 * Periodic tasks run only while sockets are open: an empty room sets no alarm and may be evicted.
 */
export type Periods = Partial<Record<Task, number>>;
type Store = RoomStore<{ seq: number }>;

/** Run `task` at `at` (ms), unless it is already due earlier. */
export async function schedule(room: Party.Room, store: Store, task: Task, at: number) {
  const current = store.due[task];
  if (current !== undefined && current <= at) return;
  store.setDue({ ...store.due, [task]: at });
  await arm(room, store);
}

/** While sockets are open, every periodic task has a next time. */
export async function keepPeriodic(room: Party.Room, store: Store, periods: Periods) {
  const missing = (Object.keys(periods) as Task[]).filter((t) => store.due[t] === undefined);
  if (missing.length === 0) return;
  const now = Date.now();
  const due = { ...store.due };
  for (const t of missing) due[t] = now + periods[t]!;
  store.setDue(due);
  await arm(room, store);
}

async function arm(room: Party.Room, store: Store) {
  const times = Object.values(store.due);
  if (times.length === 0) return;
  const next = Math.min(...times);
  const set = await room.storage.getAlarm();
  if (set === null || set > next) await room.storage.setAlarm(next);
}

/**
 * Party.Server.onAlarm: run the tasks that are due, then re-arm. A periodic task is scheduled
 * again after its period while any socket is open. A task that throws is logged; the others run.
 */
export async function runDue(
  room: Party.Room,
  store: Store,
  runners: Record<Task, () => Promise<unknown>>,
  periods: Periods,
) {
  const now = Date.now();
  const due = Object.entries(store.due).filter(([, at]) => at <= now + 10) as Array<[Task, number]>;
  const remaining = { ...store.due };
  for (const [task] of due) delete remaining[task];
  store.setDue(remaining);
  for (const [task] of due) {
    try {
      await runners[task]();
    } catch (err) {
      partyLog.error("alarm task failed", { task, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const open = !room.getConnections()[Symbol.iterator]().next().done;
  if (open) {
    const next = { ...store.due };
    for (const [task] of due)
      if (periods[task] && next[task] === undefined) next[task] = Date.now() + periods[task];
    store.setDue(next);
  }
  await arm(room, store);
}
