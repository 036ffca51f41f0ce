/**
 * workerd's output (the Worker's console and the runtime's own errors) for the bench: each distinct
 * line is printed at most 3 times, so a failure repeated thousands of times under load (a hung
 * request, a timeout) does not bury the results. Ids, timestamps and numbers are ignored when
 * deciding whether two lines are the same; `summary()` lists what was held back.
 */
const MAX_COPIES = 3;

const shape = (line: string) =>
  line
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, "<time>")
    .replace(/\d+/g, "<n>");

export function runtimeLogLimiter() {
  const seen = new Map<string, { count: number; sample: string }>();
  return {
    handle({ level, message }: { level: string; message: string }) {
      for (const line of message.split("\n")) {
        if (!line.trim()) continue;
        const key = shape(line);
        const entry = seen.get(key) ?? { count: 0, sample: line };
        seen.set(key, entry);
        if (++entry.count > MAX_COPIES) continue;
        const tail =
          entry.count === MAX_COPIES ? "  [further copies of this line are counted, not printed]" : "";
        (level === "error" || level === "warn" ? console.error : console.log)(`${line}${tail}`);
      }
    },
    /** Lines held back, most frequent first (empty when nothing was). */
    summary(): string {
      const held = [...seen.values()].filter((e) => e.count > MAX_COPIES).sort((a, b) => b.count - a.count);
      if (held.length === 0) return "";
      return [
        "workerd output held back (line × further copies):",
        ...held.map((e) => `  ${e.count - MAX_COPIES} × ${e.sample.slice(0, 200)}`),
      ].join("\n");
    },
  };
}
