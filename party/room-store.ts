import type * as Party from "partykit/server";
import { admit, newSeqOrder, release, type SeqOrder } from "./seq-order.ts";

/**
 * What a room remembers beyond its sockets, in room storage so that a hibernated, evicted or
 * rebuilt instance picks up where the last one stopped. The object is a write-through cache:
 * every change is put to storage at once (DO storage makes a put visible to the next read and
 * durable before any frame sent after it leaves), and load() rebuilds it from storage alone.
 * - `roomId`: PartyKit cannot read room.id in onAlarm (nor on an instance an alarm woke).
 * - `order`: the last broadcast seq and the messages held for an earlier one (seq-order.ts).
 * - `present`: the users the room last told its clients about, so presence is sent as diffs.
 * - `due`: when each periodic task runs next (party/alarms.ts).
 * - `unverified`: sessions whose revocation check failed, since when (party/sessions.ts).
 */
export type Task = "sweep" | "sessions" | "access" | "held";

export class RoomStore<M extends { seq: number }> {
  roomId: string | undefined;
  readonly order: SeqOrder<M> = newSeqOrder<M>();
  readonly present = new Set<string>();
  due: Partial<Record<Task, number>> = {};
  unverified = new Map<string, number>();
  private readonly storage: Party.Storage;

  private constructor(storage: Party.Storage) {
    this.storage = storage;
  }

  static async load<M extends { seq: number }>(room: Party.Room): Promise<RoomStore<M>> {
    const store = new RoomStore<M>(room.storage);
    const [meta, held, present] = await Promise.all([
      room.storage.get<{ roomId?: string; lastSeq?: number; due?: RoomStore<M>["due"] }>("meta"),
      room.storage.list<M>({ prefix: "held:" }),
      room.storage.list<true>({ prefix: "present:" }),
    ]);
    store.roomId = meta?.roomId;
    store.order.lastSeq = meta?.lastSeq ?? 0;
    store.due = meta?.due ?? {};
    for (const m of held.values()) store.order.held.set(m.seq, m);
    for (const key of present.keys()) store.present.add(key.slice("present:".length));
    const unverified = await room.storage.get<Record<string, number>>("unverified");
    store.unverified = new Map(Object.entries(unverified ?? {}));
    // room.id throws in onAlarm and on an instance an alarm started (a PartyKit limitation).
    let id: string | undefined;
    try {
      id = room.id;
    } catch {
      id = undefined;
    }
    if (id && id !== store.roomId) {
      store.roomId = id;
      store.saveMeta();
    }
    return store;
  }

  /** The room's id, known once any connection or request reached it. */
  get id(): string {
    if (!this.roomId) throw new Error("room id unknown: no connection or request reached this room yet");
    return this.roomId;
  }

  private saveMeta() {
    void this.storage.put("meta", { roomId: this.roomId, lastSeq: this.order.lastSeq, due: this.due });
  }

  /** Raise the known last seq (e.g. the API's, read at connect). */
  knowSeq(seq: number) {
    if (seq <= this.order.lastSeq) return;
    this.order.lastSeq = seq;
    this.saveMeta();
  }

  /** admit() / release() of seq-order.ts, with the result written through to storage. */
  admit(message: M): M[] {
    return this.persisting(() => admit(this.order, message));
  }
  release(force: boolean): M[] {
    return this.persisting(() => release(this.order, force));
  }

  private persisting(run: () => M[]): M[] {
    const before = new Set(this.order.held.keys());
    const lastSeq = this.order.lastSeq;
    const out = run();
    for (const seq of this.order.held.keys())
      if (!before.has(seq)) void this.storage.put(`held:${seq}`, this.order.held.get(seq));
    for (const seq of before) if (!this.order.held.has(seq)) void this.storage.delete(`held:${seq}`);
    if (this.order.lastSeq !== lastSeq) this.saveMeta();
    return out;
  }

  setPresent(userId: string, present: boolean) {
    if (present === this.present.has(userId)) return;
    if (present) {
      this.present.add(userId);
      void this.storage.put(`present:${userId}`, true);
    } else {
      this.present.delete(userId);
      void this.storage.delete(`present:${userId}`);
    }
  }

  setDue(due: RoomStore<M>["due"]) {
    this.due = due;
    this.saveMeta();
  }

  saveUnverified() {
    if (this.unverified.size === 0) void this.storage.delete("unverified");
    else void this.storage.put("unverified", Object.fromEntries(this.unverified));
  }
}
