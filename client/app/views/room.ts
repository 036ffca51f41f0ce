/**
 * A room: history from REST (scroll up for older pages with beforeSeq), then the SDK's LiveRoom
 * for live messages, presence, typing and the outbox. The last seen seq is kept in localStorage,
 * so a reopened page resumes right after it and the catch-up (`sync`) delivers exactly what was
 * missed. What the user writes goes to the outbox in IndexedDB first: it shows as pending,
 * survives a reload or a closed tab, and is sent once the room is live (by one tab, if several
 * are open).
 */
import {
  indexedDbStorage,
  LiveRoom,
  type OutboxEntry,
  ok,
  type Room,
  type RoomStatus,
  type Session,
} from "../../index.ts";
import { announce, h } from "../dom.ts";
import type { Files } from "../files.ts";
import type { People } from "../people.ts";
import { Composer } from "./composer.ts";
import { OlderHistory } from "./older.ts";
import { Presence, TypingIndicator } from "./presence.ts";
import { Timeline } from "./timeline.ts";

const PAGE = 30;
/** One outbox store for the whole app: every tab of the origin shares it. */
const storage = indexedDbStorage();
const plural = (n: number) => `${n} message${n === 1 ? "" : "s"}`;

function statusText(s: RoomStatus): string {
  switch (s.state) {
    case "connecting":
      return "Connecting…";
    case "syncing":
      return s.pending > 0 ? `Syncing ${plural(s.pending)}…` : "Catching up…";
    case "live":
      return "Connected · caught up";
    case "offline":
      return `${s.reconnecting ? "Reconnecting…" : "Offline"}${s.pending > 0 ? ` · ${s.pending} pending` : ""}`;
    case "closed":
      return "Disconnected";
  }
}

export const lastSeqKey = (userId: string, roomId: string) => `petrel:lastSeq:${userId}:${roomId}`;

export class RoomView {
  readonly el: HTMLElement;
  private client: LiveRoom | null = null;
  private timeline: Timeline;
  private composer: Composer;
  private status = h("p", { class: "conn", role: "status", "data-state": "connecting" }, "Connecting…");
  private alert = h("p", { class: "error", role: "alert" });
  private presence: Presence;
  private typing: TypingIndicator;
  private firstSync = true;
  private caughtUp = 0;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private lastTyping = 0;
  private acked = new Set<string>();
  /** "(5 new)" after the first catch-up, kept while the room stays live. */
  private liveNote = "";
  private closed = false;
  private older: OlderHistory;
  private readonly session: Session;
  private readonly room: Room;
  private readonly onRead: (seq: number) => void;
  private readonly offPeople: () => void;

  constructor(session: Session, room: Room, people: People, files: Files, onRead: (seq: number) => void) {
    this.session = session;
    this.room = room;
    const me = session.user!;
    this.presence = new Presence(people, me.id);
    this.typing = new TypingIndicator(people);
    this.timeline = new Timeline(
      {
        me: me.id,
        myHandle: me.handle,
        people,
        files,
        edit: async (m, body) => {
          const api = session.api.v1.messages[":messageId"];
          this.timeline.update(await ok(api.$patch({ param: { messageId: m.id }, json: { body } })));
        },
        remove: async (m) => {
          await ok(session.api.v1.messages[":messageId"].$delete({ param: { messageId: m.id } }));
          const now = new Date().toISOString();
          this.timeline.update({ ...m, body: "", attachments: [], deletedAt: now });
          announce("Message deleted");
        },
      },
      `Messages in #${room.name}`,
    );
    this.composer = new Composer({
      api: session.api,
      orgId: room.orgId,
      roomId: room.id,
      roomName: room.name,
      send: (body, attachments) => this.send(body, attachments),
      typing: () => this.sendTyping(),
    });
    this.offPeople = people.onChange(() => this.timeline.refresh());
    this.older = new OlderHistory(
      { api: session.api, roomId: room.id, roomName: room.name, timeline: this.timeline, pageSize: PAGE },
      (message) => this.showError(message),
    );
    this.onRead = onRead;
    this.el = h(
      "section",
      { class: "room", "aria-labelledby": "room-title" },
      h(
        "header",
        { class: "room-head" },
        h("h1", { id: "room-title" }, h("span", { class: "hash", "aria-hidden": "true" }, "#"), room.name),
        room.visibility === "private" ? h("span", { class: "tag" }, "private") : null,
        this.status,
      ),
      h(
        "div",
        { class: "room-body" },
        h("div", { class: "room-main" }, this.timeline.scroller, this.timeline.jumpButton),
        this.presence.el,
      ),
      h("div", { class: "room-foot" }, this.typing.el, this.alert, this.composer.el),
    );
  }

  async start() {
    const me = this.session.user!;
    const key = lastSeqKey(me.id, this.room.id);
    const stored = Number(localStorage.getItem(key));
    // Ignore a resume point beyond the room's end (e.g. a reset development database).
    const saved = Number.isInteger(stored) && stored > 0 && stored <= this.room.lastSeq ? stored : undefined;
    const page = await ok(
      this.session.api.v1.rooms[":roomId"].messages.$get({
        param: { roomId: this.room.id },
        query: saved ? { beforeSeq: String(saved + 1), limit: String(PAGE) } : { limit: String(PAGE) },
      }),
    );
    if (this.closed) return;
    for (const m of page.items) this.timeline.add(m);
    this.older.set(page.hasMore);
    this.timeline.scrollToEnd();
    this.scheduleRead();
    document.addEventListener("visibilitychange", this.onVisible);
    const client = await LiveRoom.open({
      session: this.session,
      roomId: this.room.id,
      storage,
      lastSeq: saved ?? this.timeline.newestSeq,
    });
    this.client = client;
    if (this.closed) return client.close();
    client.on("message", (m) => {
      if (this.firstSync) this.caughtUp++;
      this.timeline.add(m, { newSince: this.firstSync ? saved : undefined });
      this.typing.stopped(m.authorId);
      localStorage.setItem(key, String(client.seq));
      this.scheduleRead();
    });
    client.on("update", (m) => this.timeline.update(m));
    client.on("presence", (users) => {
      this.presence.set(users);
      this.typing.onlyAmong(users);
    });
    client.on("typing", ({ userId, ttlMs }) => this.typing.started(userId, ttlMs));
    client.on("status", (status) => this.setState(status));
    client.on("outbox", (entries) => this.showOutbox(entries));
    client.on("delivered", ({ clientId, seq }) => {
      this.acked.add(clientId);
      this.timeline.acked(clientId, seq);
    });
    client.on("error", (err) => this.showError(err.message));
    this.showOutbox(client.pending);
    this.setState(client.current);
    this.composer.focus();
  }

  /** The outbox as pending rows: queued ones wait, refused ones show why, with retry / discard. */
  private showOutbox(entries: OutboxEntry[]) {
    const ids = new Set(entries.map((e) => e.clientId));
    for (const e of entries) {
      this.timeline.addPending(e.clientId, e.body, e.attachments);
      if (e.state === "failed")
        this.timeline.failed(e.clientId, e.error?.message ?? "refused", {
          retry: () => void this.client?.retry(e.clientId),
          discard: () => void this.client?.discard(e.clientId),
        });
      else this.timeline.queued(e.clientId);
    }
    for (const id of this.timeline.pendingIds())
      if (!ids.has(id) && !this.acked.has(id)) this.timeline.removePending(id);
  }

  private showError(message: string) {
    this.alert.textContent = message;
    setTimeout(() => {
      if (this.alert.textContent === message) this.alert.textContent = "";
    }, 5000);
  }

  private setState(status: RoomStatus) {
    if (status.state === "live" && this.firstSync) {
      this.firstSync = false;
      if (this.caughtUp > 0) this.liveNote = ` (${this.caughtUp} new)`;
      this.status.dataset.caughtUp = String(this.caughtUp);
    } else if (status.state !== "live") this.liveNote = "";
    const text = statusText(status) + (status.state === "live" ? this.liveNote : "");
    this.status.dataset.state = status.state;
    this.status.dataset.pending = String(status.pending);
    if (status.lastSyncAt) {
      this.status.dataset.lastSync = status.lastSyncAt.toISOString();
      this.status.title = `Last synced ${status.lastSyncAt.toLocaleTimeString()}`;
    }
    this.status.textContent = text;
  }

  /** Into the outbox (durable at once), then sent by the SDK when the room is live. */
  private send(body: string, attachments: string[]) {
    const client = this.client;
    if (!client) return this.showError("Not connected yet; try again in a moment.");
    client
      .send(body, attachments)
      .catch((err) => this.showError(`Could not keep the message: ${String(err)}`));
  }

  /** At most one typing frame per 2 s (the party throttles too), and only while connected. */
  private sendTyping() {
    const client = this.client;
    if (client?.current.state !== "live" || Date.now() - this.lastTyping < 2000) return;
    this.lastTyping = Date.now();
    client.typing();
  }

  private onVisible = () => {
    if (document.visibilityState === "visible") this.scheduleRead();
  };

  private scheduleRead() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (document.visibilityState !== "visible" || this.closed) return;
      const seq = this.timeline.newestSeq;
      this.session.api.v1.rooms[":roomId"].read
        .$post({ param: { roomId: this.room.id }, json: { seq } })
        .then(() => this.onRead(seq))
        .catch(() => undefined);
    }, 1000);
  }

  destroy() {
    this.closed = true;
    clearTimeout(this.readTimer);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.older.destroy();
    this.typing.clear();
    this.presence.destroy();
    this.offPeople();
    this.client?.close();
  }
}
