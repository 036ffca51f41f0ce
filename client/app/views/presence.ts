/** Who is in the room right now, and who is typing. */
import { h } from "../dom.ts";
import type { People } from "../people.ts";

export class Presence {
  readonly el: HTMLElement;
  private list = h("ul", { class: "presence-list" });
  private heading = h("h2", { id: "presence-title" }, "Online");
  private users: string[] = [];
  private readonly people: People;
  private readonly me: string;

  constructor(people: People, me: string) {
    this.people = people;
    this.me = me;
    this.el = h("aside", { class: "presence", "aria-labelledby": "presence-title" }, this.heading, this.list);
    this.off = people.onChange(() => this.render());
  }

  private readonly off: () => void;

  destroy() {
    this.off();
  }

  set(users: string[]) {
    this.users = [...new Set(users)];
    this.render();
  }

  private render() {
    const rows = this.users
      .map((id) => ({ id, name: this.people.label(id) }))
      .sort((a, b) => (a.id === this.me ? -1 : b.id === this.me ? 1 : a.name.localeCompare(b.name)));
    this.heading.textContent = `Online — ${rows.length}`;
    this.list.replaceChildren(
      ...rows.map((r) =>
        h(
          "li",
          { "data-user-id": r.id },
          h("span", { class: "dot", "aria-hidden": "true" }),
          r.name,
          r.id === this.me ? h("span", { class: "muted" }, " (you)") : null,
        ),
      ),
    );
  }
}

/**
 * "Ada is typing…": each typing frame shows its author for the frame's ttl (frames repeat while
 * typing goes on); it ends earlier with their message, or when they leave the room.
 */
export class TypingIndicator {
  readonly el = h("p", { class: "typing", "aria-live": "polite" });
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly people: People;

  constructor(people: People) {
    this.people = people;
  }

  started(userId: string, ttlMs: number) {
    clearTimeout(this.timers.get(userId));
    this.timers.set(
      userId,
      setTimeout(() => this.stopped(userId), ttlMs),
    );
    this.render();
  }

  /** Nobody who left the room is shown typing. */
  onlyAmong(present: string[]) {
    for (const id of [...this.timers.keys()]) if (!present.includes(id)) this.stopped(id);
  }

  stopped(userId: string) {
    if (!this.timers.has(userId)) return;
    clearTimeout(this.timers.get(userId));
    this.timers.delete(userId);
    this.render();
  }

  clear() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private render() {
    const names = [...this.timers.keys()].map((id) => this.people.label(id));
    this.el.textContent =
      names.length === 0
        ? ""
        : names.length === 1
          ? `${names[0]} is typing…`
          : names.length === 2
            ? `${names[0]} and ${names[1]} are typing…`
            : "Several people are typing…";
  }
}
