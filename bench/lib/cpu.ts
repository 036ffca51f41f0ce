/**
 * CPU time of a process tree from /proc (Linux): user + system time of the process and of every
 * live descendant, in milliseconds. Time inside workerd does not advance while code runs, so the
 * Worker cannot measure its own CPU: the bench reads the workerd process from outside instead.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

const TICKS_PER_SECOND = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** /proc/<pid>/stat; the command name is in parentheses and may itself contain spaces or ")". */
function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone meanwhile
  }
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" "); // fields[0] is field 3 (state)
  return {
    pid,
    comm: text.slice(open + 1, close),
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]), // fields 14 (utime) and 15 (stime)
  };
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** `root` and its live descendants. */
function tree(root: number, stats = allStats()): Stat[] {
  const kids = new Map<number, Stat[]>();
  for (const s of stats) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), s]);
  const found: Stat[] = [];
  const rootStat = stats.find((s) => s.pid === root);
  const queue = rootStat ? [rootStat] : [];
  while (queue.length > 0) {
    const s = queue.shift()!;
    found.push(s);
    queue.push(...(kids.get(s.pid) ?? []));
  }
  return found;
}

/** CPU milliseconds used so far by `pid` and its live descendants (undefined: no such process). */
export function treeCpuMs(pid: number): number | undefined {
  const procs = tree(pid);
  if (procs.length === 0) return undefined;
  return (procs.reduce((sum, s) => sum + s.ticks, 0) * 1000) / TICKS_PER_SECOND;
}

/** The pid of the first descendant of this process whose command name is `comm` (e.g. "workerd"). */
export function descendantNamed(comm: string): number | undefined {
  return tree(process.pid).find((s) => s.pid !== process.pid && s.comm === comm)?.pid;
}
