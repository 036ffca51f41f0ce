/**
 * Older history, a page at a time (`beforeSeq` = the oldest seq on screen): loaded when the
 * "Load older messages" button at the top scrolls into view, or when it is pressed.
 */
import { type Client, ok } from "../../index.ts";
import { errorText, h } from "../dom.ts";
import type { Timeline } from "./timeline.ts";

export class OlderHistory {
  private hasMore = true;
  private loading = false;
  private button = h("button", { type: "button", class: "link load-older" }, "Load older messages");
  private observer: IntersectionObserver;
  private readonly opts: {
    api: Client;
    roomId: string;
    roomName: string;
    timeline: Timeline;
    pageSize: number;
  };
  private readonly onError: (message: string) => void;

  constructor(
    opts: { api: Client; roomId: string; roomName: string; timeline: Timeline; pageSize: number },
    onError: (message: string) => void,
  ) {
    this.opts = opts;
    this.onError = onError;
    this.button.addEventListener("click", () => this.load());
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.load();
    });
  }

  /** After the first page: whether there is anything before it. */
  set(hasMore: boolean) {
    this.hasMore = hasMore;
    if (hasMore) {
      this.opts.timeline.setTop(this.button);
      this.observer.observe(this.button);
    } else {
      this.observer.disconnect();
      this.opts.timeline.setTop(
        h("p", { class: "room-start" }, `This is the beginning of #${this.opts.roomName}.`),
      );
    }
  }

  private async load() {
    const { api, roomId, timeline, pageSize } = this.opts;
    const oldest = timeline.oldestSeq;
    if (this.loading || !this.hasMore || oldest === undefined) return;
    this.loading = true;
    this.button.textContent = "Loading…";
    let hasMore: boolean = this.hasMore;
    try {
      const page = await ok(
        api.v1.rooms[":roomId"].messages.$get({
          param: { roomId },
          query: { beforeSeq: String(oldest), limit: String(pageSize) },
        }),
      );
      hasMore = page.hasMore;
      timeline.prepend(page.items);
    } catch (err) {
      this.onError(errorText(err));
    } finally {
      this.loading = false;
      this.button.textContent = "Load older messages";
      this.set(hasMore);
    }
  }

  destroy() {
    this.observer.disconnect();
  }
}
