/**
 * A room: history from REST (scroll up for older pages with beforeSeq), then the realtime helper
 * for live messages, presence and typing. The last seen seq is kept in localStorage, so a reopened
 * page resumes right after it and the helper's catch-up (`sync`) delivers exactly what was missed.
 */
import { type ConnectionState, RoomClient } from "../../realtime.ts";
import { type Message, ok, type Room } from "../api.ts";
import { announce, h } from "../dom.ts";
import type { Files } from "../files.ts";
import type { People } from "../people.ts";
import type { Session } from "../session.ts";
import { Composer } from "./composer.ts";
import { OlderHistory } from "./older.ts";
import { Presence, TypingIndicator } from "./presence.ts";
import { Timeline } from "./timeline.ts";

const PAGE = 30;
const SEND_TIMEOUT_MS = 15_000;
const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  syncing: "Catching up…",
  live: "Connected · caught up",
  reconnecting: "Reconnecting…",
  closed: "Offline",
};

export const lastSeqKey = (userId: string, roomId: string) => `petrel:lastSeq:${userId}:${roomId}`;

export class RoomView {
  readonly el: HTMLElement;
  private client: RoomClient | null = null;
  private resolveClient: (client: RoomClient) => void = () => undefined;
  private clientReady = new Promise<RoomClient>((resolve) => {
    this.resolveClient = resolve;
  });
  private timeline: Timeline;
  private composer: Composer;
  private status = h(
    "p",
    { class: "conn", role: "status", "data-state": "connecting" },
    STATE_TEXT.connecting,
  );
  private alert = h("p", { class: "error", role: "alert" });
  private presence: Presence;
  private typing: TypingIndicator;
  private firstSync = true;
  private caughtUp = 0;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private lastTyping = 0;
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
    const client = await RoomClient.connect({
      apiUrl: this.session.baseUrl,
      accessToken: this.session.accessToken,
      fetch: this.session.fetch,
      roomId: this.room.id,
      lastSeq: saved ?? this.timeline.newestSeq,
      onMessage: (m) => {
        if (this.firstSync) this.caughtUp++;
        this.timeline.add(m as Message, { newSince: this.firstSync ? saved : undefined });
        this.typing.stopped(m.authorId);
        localStorage.setItem(key, String(this.client?.seq ?? m.seq));
        this.scheduleRead();
      },
      onUpdate: (m) => this.timeline.update(m as Message),
      onPresence: (users) => this.presence.set(users),
      onTyping: (userId) => {
        if (userId !== me.id) this.typing.started(userId);
      },
      onState: (state) => this.setState(state),
      onError: (err) => this.showError(err.message),
    });
    this.client = client;
    if (this.closed) return client.close();
    this.resolveClient(client);
    this.composer.focus();
  }

  private showError(message: string) {
    this.alert.textContent = message;
    setTimeout(() => {
      if (this.alert.textContent === message) this.alert.textContent = "";
    }, 5000);
  }

  private setState(state: ConnectionState) {
    let text = STATE_TEXT[state];
    if (state === "live" && this.firstSync) {
      this.firstSync = false;
      if (this.caughtUp > 0) text += ` (${this.caughtUp} new)`;
      this.status.dataset.caughtUp = String(this.caughtUp);
    }
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  private send(body: string, attachments: string[]) {
    const clientId = crypto.randomUUID();
    this.timeline.addPending(clientId, body, attachments);
    // Sent (or queued by the socket while it reconnects) once the room is connected; a retry
    // reuses the clientId, so the server stores the message at most once.
    const attempt = () => {
      const timer = setTimeout(() => this.timeline.failed(clientId, attempt), SEND_TIMEOUT_MS);
      this.clientReady
        .then((client) =>
          client.send(body, { clientId, attachments: attachments.length ? attachments : undefined }),
        )
        .then((ack) => {
          clearTimeout(timer);
          this.timeline.acked(clientId, ack.seq);
        })
        .catch(() => clearTimeout(timer));
    };
    attempt();
  }

  /** At most one typing frame per 2 s (the party throttles too), and only while connected. */
  private sendTyping() {
    const client = this.client;
    if (client?.state !== "live" || Date.now() - this.lastTyping < 2000) return;
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
