/**
 * The ordered message list of a room. Confirmed messages sit in seq order, each seq exactly once;
 * messages being sent (optimistic, keyed by clientId) sit after them until the server confirms.
 */
import type { Message } from "../../index.ts";
import { h } from "../dom.ts";
import { fill, type MessageContext, renderMessage } from "./message.ts";

export class Timeline {
  readonly scroller: HTMLElement;
  private list = h("ol", { class: "messages" });
  private top = h("div", { class: "timeline-top" });
  private jump = h("button", { type: "button", class: "jump", hidden: true }, "↓ New messages");
  private bySeq = new Map<number, { m: Message; li: HTMLLIElement }>();
  private pending = new Map<string, HTMLLIElement>();
  /** clientIds of own messages shown as stored. */
  private stored = new Set<string>();
  private divider: HTMLLIElement | null = null;
  private pinned = true;
  private lastTop = -1;
  private readonly ctx: MessageContext;

  constructor(ctx: MessageContext, label: string) {
    this.ctx = ctx;
    this.scroller = h(
      "div",
      { class: "timeline", role: "log", "aria-label": label, tabindex: 0 },
      this.top,
      this.list,
    );
    this.jump.addEventListener("click", () => this.scrollToEnd());
    this.scroller.addEventListener("scroll", () => {
      // Only the reader's own scrolling decides; the echo of ours may arrive after the list grew.
      if (this.scroller.scrollTop === this.lastTop) return;
      this.pinned = this.nearBottom();
      if (this.pinned) this.jump.hidden = true;
    });
    // Images that load later grow the list: a reader at the bottom stays at the bottom.
    new ResizeObserver(() => {
      if (this.pinned) this.scrollTo(this.scroller.scrollHeight);
    }).observe(this.list);
  }

  get jumpButton() {
    return this.jump;
  }
  get oldestSeq(): number | undefined {
    const first = this.list.querySelector<HTMLLIElement>("li.msg[data-seq]:not(.pending)");
    return first ? Number(first.dataset.seq) : undefined;
  }
  get newestSeq(): number {
    return Math.max(0, ...this.bySeq.keys());
  }
  has(seq: number) {
    return this.bySeq.has(seq);
  }
  setTop(...nodes: HTMLElement[]) {
    this.top.replaceChildren(...nodes);
  }

  /** Older messages from REST: inserted above, keeping what the user looks at in place. */
  prepend(messages: Message[]) {
    const before = this.scroller.scrollHeight - this.scroller.scrollTop;
    for (const m of [...messages].reverse()) this.insert(m);
    this.scrollTo(this.scroller.scrollHeight - before);
  }

  /** A stored message (history or live); an own pending copy is replaced by it. */
  add(m: Message, opts: { newSince?: number } = {}) {
    const stick = this.nearBottom();
    if (this.bySeq.has(m.seq)) return this.update(m);
    const li = this.insert(m);
    if (opts.newSince !== undefined && m.seq > opts.newSince && !this.divider) {
      this.divider = h(
        "li",
        { class: "divider", role: "separator" },
        h("span", {}, "New since your last visit"),
      );
      this.list.insertBefore(this.divider, li);
    }
    if (stick || m.authorId === this.ctx.me) this.scrollToEnd();
    else this.jump.hidden = false;
  }

  /** Re-render every stored message (e.g. names arrived for authors shown as "Someone"). */
  refresh() {
    for (const { m, li } of this.bySeq.values()) if (!li.querySelector(".edit-form")) fill(li, m, this.ctx);
  }

  update(m: Message) {
    const hit = this.bySeq.get(m.seq);
    if (!hit) return;
    hit.m = m;
    fill(hit.li, m, this.ctx);
  }

  /** Own messages still in the outbox, keyed by clientId (the seq of those already acked). */
  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  /** An outbox entry: shown after the stored messages until the server has it. */
  addPending(clientId: string, body: string, attachments: string[]): HTMLLIElement | undefined {
    const existing = this.pending.get(clientId);
    if (existing) return existing;
    // Already stored and shown (an outbox list read before its removal): no second row.
    if (this.stored.has(clientId)) return undefined;
    const li = h("li", { class: "msg own pending", "data-client-id": clientId, "aria-busy": "true" });
    const fake: Message = {
      id: clientId,
      roomId: "",
      seq: 0,
      authorId: this.ctx.me,
      body,
      attachments,
      clientId,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
    };
    fill(li, fake, this.ctx);
    li.querySelector(".msg-actions")?.remove();
    li.append(h("span", { class: "status" }, "Pending"));
    this.pending.set(clientId, li);
    this.list.append(li);
    this.scrollToEnd();
    return li;
  }

  /** Queued (again): waiting to be sent. */
  queued(clientId: string) {
    const li = this.pending.get(clientId);
    if (!li?.classList.contains("failed")) return;
    li.classList.remove("failed");
    li.querySelector(".status")?.replaceChildren("Pending");
  }

  /** The ack arrived: stored with this seq (the message frame itself may still be on its way). */
  acked(clientId: string, seq: number) {
    const li = this.pending.get(clientId);
    if (!li) return;
    li.dataset.seq = String(seq);
    li.classList.remove("failed");
    li.classList.add("sent");
    li.querySelector(".status")?.replaceChildren("Sent");
  }

  /** Refused by the server: the reason, and the choice to send it again or drop it. */
  failed(clientId: string, reason: string, actions: { retry: () => void; discard: () => void }) {
    const li = this.pending.get(clientId);
    if (!li || li.classList.contains("failed")) return;
    li.classList.add("failed");
    li.querySelector(".status")?.replaceChildren(
      h("span", { class: "error", role: "alert" }, `Not sent: ${reason} `),
      h("button", { type: "button", class: "link", onClick: actions.retry }, "Retry"),
      " · ",
      h("button", { type: "button", class: "link", onClick: actions.discard }, "Discard"),
    );
  }

  /** Gone from the outbox without being seen here (discarded): drop its row. */
  removePending(clientId: string) {
    const li = this.pending.get(clientId);
    if (!li || li.classList.contains("sent")) return;
    this.pending.delete(clientId);
    li.remove();
  }

  private insert(m: Message): HTMLLIElement {
    const li = renderMessage(m, this.ctx);
    const pending = this.pending.get(m.clientId);
    if (m.authorId === this.ctx.me) this.stored.add(m.clientId);
    if (pending && m.authorId === this.ctx.me) {
      this.pending.delete(m.clientId);
      pending.remove();
    }
    // Find the first confirmed message with a higher seq; usually there is none (append).
    let next: Element | null = null;
    for (const [seq, other] of this.bySeq) {
      if (seq > m.seq && (!next || seq < Number((next as HTMLElement).dataset.seq))) next = other.li;
    }
    this.list.insertBefore(li, next ?? this.list.querySelector("li.pending"));
    this.bySeq.set(m.seq, { m, li });
    return li;
  }

  private nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() {
    this.scrollTo(this.scroller.scrollHeight);
    this.pinned = true;
    this.jump.hidden = true;
  }

  private scrollTo(top: number) {
    this.scroller.scrollTop = top;
    this.lastTop = this.scroller.scrollTop;
  }
}
