/** Measurements around the realtime load: the cost of a REST post, and a process tree's memory. */
import { readdirSync, readFileSync } from "node:fs";
import type { Costs } from "./realtime.ts";
import type { BenchRoom } from "./realtime-users.ts";
import type { BenchContext } from "./scenarios.ts";

const REST_POSTS = 20;

/**
 * Database and Redis round trips of one REST post to the bench room: the API's counters around
 * REST_POSTS sequential posts, before any socket is connected (nothing else runs meanwhile).
 */
export async function restPostCost(
  ctx: BenchContext,
  room: BenchRoom,
  costs: () => Promise<Costs>,
): Promise<{ db: number; redis: number; posts: number }> {
  const before = await costs();
  for (let i = 0; i < REST_POSTS; i++) {
    const res = await ctx.request(`/v1/rooms/${room.roomId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${room.tokens[0]}` },
      // Phase 0 (never measured): clients that sync these on connect ignore them.
      body: JSON.stringify({
        clientId: crypto.randomUUID(),
        body: JSON.stringify({ p: 0, g: i, s: 0, t: 0 }),
      }),
    });
    if (res.status !== 201) throw new Error(`REST post probe → ${res.status} ${await res.text()}`);
  }
  const after = await costs();
  const per = (k: keyof Costs) => Math.round(((after[k] - before[k]) / REST_POSTS) * 100) / 100;
  return { db: per("db"), redis: per("redis"), posts: REST_POSTS };
}

/** Resident memory (MiB) of `pid` and every descendant (partykit dev's node + its workerd child). */
export function processTreeRssMb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing paren.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process exited meanwhile
    }
  }
  let kib = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // gone
    }
    stack.push(...(children.get(p) ?? []));
  }
  return Math.round(kib / 1024);
}

/**
 * The open-file limit this process (and so every process it starts) runs with, against what a
 * room of `clients` sockets needs: each socket is one descriptor in the bench and one in
 * workerd. Nothing is raised here; the note says whether it had to be.
 */
export function fileLimitNote(clients: number): string {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const soft = Number(line?.split(/\s+/)[3]);
  const needed = clients + 1000;
  return Number.isFinite(soft) && soft >= needed
    ? `open files: ulimit -n is ${soft} ≥ ${needed} needed by ${clients} sockets per process; no limit raised`
    : `open files: ulimit -n is ${soft}, below the ${needed} that ${clients} sockets need: raise it (ulimit -n ${needed}) in the shell that runs the bench`;
}
