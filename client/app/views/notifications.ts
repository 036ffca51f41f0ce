/**
 * The notifications bell: unread ones from GET /v1/notifications, new ones pushed on the user
 * channel (party "notifications", a fresh ticket per connect). After a reconnect the list is
 * reloaded, so nothing pushed while the socket was down is missed.
 */
import { type Notification, ok, type Session, UserChannel } from "../../index.ts";
import { announce, formatTime, h, icon } from "../dom.ts";
import { navigate } from "../router.ts";

export interface Describe {
  person(userId: string): string | undefined;
  room(roomId: string): string | undefined;
}

export class Notifications {
  readonly button: HTMLButtonElement;
  readonly panel: HTMLElement;
  private badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  private list = h("ul", { class: "notif-list" });
  private unread = new Map<string, Notification>();
  private socket: UserChannel | null = null;
  private closed = false;
  private readonly session: Session;
  private readonly describe: Describe;

  constructor(session: Session, describe: Describe) {
    this.session = session;
    this.describe = describe;
    this.button = h(
      "button",
      {
        type: "button",
        class: "bell",
        "aria-expanded": "false",
        "aria-controls": "notif-panel",
        onClick: () => this.toggle(),
      },
      icon("bell"),
      h("span", { class: "sr-only label" }, "Notifications"),
      this.badge,
    );
    this.panel = h(
      "section",
      { id: "notif-panel", class: "notif-panel", hidden: true, "aria-labelledby": "notif-title" },
      h(
        "header",
        {},
        h("h2", { id: "notif-title" }, "Notifications"),
        h("button", { type: "button", class: "link", onClick: () => this.readAll() }, "Mark all as read"),
      ),
      this.list,
    );
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.toggle(false);
    });
  }

  async start() {
    await this.reload();
    const channel = await UserChannel.connect({
      apiUrl: this.session.baseUrl,
      accessToken: this.session.accessToken,
      fetch: this.session.fetch,
      onNotification: (n) => this.add(n),
      onReconnect: () => this.reload().catch(() => undefined),
      // Checked before use: a malformed frame is never shown (the list reloads on every reconnect).
      onError: (err) => console.warn("notifications: ignored a frame", err),
    });
    if (this.closed) return channel.close();
    this.socket = channel;
  }

  stop() {
    this.closed = true;
    this.socket?.close();
  }

  private async reload() {
    const page = await ok(this.session.api.v1.notifications.$get({ query: { unread: "true", limit: "50" } }));
    this.unread = new Map(page.items.map((n) => [n.id, n]));
    this.render();
  }

  private add(n: Notification) {
    if (this.unread.has(n.id) || n.readAt) return;
    this.unread.set(n.id, n);
    this.render();
    announce(this.text(n));
  }

  private toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.panel.querySelector<HTMLElement>("a, button")?.focus();
    else this.button.focus();
  }

  private text(n: Notification): string {
    const d = n.data as { authorId?: string; roomId?: string; role?: string };
    if (n.type === "mention") {
      const who = (d.authorId && this.describe.person(d.authorId)) || "Someone";
      const where = d.roomId && this.describe.room(d.roomId);
      return `${who} mentioned you${where ? ` in #${where}` : ""}`;
    }
    return `You were invited to an organization${d.role ? ` as ${d.role}` : ""}. Check your email to accept.`;
  }

  private async markRead(n: Notification) {
    this.unread.delete(n.id);
    this.render();
    await this.session.api.v1.notifications[":notificationId"].read
      .$post({ param: { notificationId: n.id } })
      .catch(() => undefined);
  }

  private async readAll() {
    this.unread.clear();
    this.render();
    await this.session.api.v1.notifications["read-all"].$post().catch(() => undefined);
  }

  private render() {
    const count = this.unread.size;
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 49 ? "50+" : String(count);
    this.button.querySelector(".label")!.textContent = count
      ? `Notifications, ${count} unread`
      : "Notifications";
    const items = [...this.unread.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    if (items.length === 0) {
      this.list.replaceChildren(h("li", { class: "muted empty" }, "You are all caught up."));
      return;
    }
    this.list.replaceChildren(
      ...items.map((n) => {
        const d = n.data as { roomId?: string; excerpt?: string };
        const target = n.type === "mention" && d.roomId ? `/rooms/${d.roomId}` : null;
        const content = [
          h("strong", {}, this.text(n)),
          d.excerpt ? h("span", { class: "excerpt" }, d.excerpt) : null,
          h("time", { datetime: n.createdAt }, formatTime(n.createdAt)),
        ];
        const open = (e: Event) => {
          e.preventDefault();
          this.markRead(n);
          this.toggle(false);
          if (target) navigate(target);
        };
        return h(
          "li",
          { class: `notif ${n.type}`, "data-id": n.id },
          target
            ? h("a", { class: "notif-link", href: `/app${target}`, onClick: open }, ...content)
            : h("button", { type: "button", class: "link notif-link", onClick: open }, ...content),
        );
      }),
    );
  }
}
