import type * as Party from "partykit/server";
import { keepPeriodic, type Periods, runDue, schedule } from "./alarms.ts";
import type { ConnState } from "./auth.ts";
import { deliverMessages, welcomeTimings } from "./lifecycle.ts";
import { announce, reconcile, reconcileAll, usersOf } from "./presence.ts";
import { RoomStore, type Task } from "./room-store.ts";

type Conn = Party.Connection<ConnState>;

/**
 * A hibernatable room's connection lifecycle: its state (room-store.ts) is loaded from storage
 * when an instance starts (or the dev/test rebuild hook drops it), presence follows the open
 * sockets, and timed work runs on the alarm. Callers get the store again after every await
 * (`await life.store()`), never keep it across one: a rebuild may have replaced it meanwhile.
 */
export class RoomLife<M extends { seq: number }> {
  readonly room: Party.Room;
  private readonly periods: Periods;
  private loaded: Promise<RoomStore<M>> | undefined;
  /** How often the in-memory state was rebuilt over live sockets (dev/test hook). */
  rebuilds = 0;
  /** The room id from the last load (room.id is not readable everywhere, see room-store.ts). */
  roomId = "";

  constructor(room: Party.Room, periods: Periods) {
    this.room = room;
    this.periods = periods;
  }

  store(): Promise<RoomStore<M>> {
    this.loaded ??= this.load().catch((err: unknown) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  /** Forget everything held in memory; the next store() rebuilds it from storage. */
  rebuild(): Promise<RoomStore<M>> {
    this.loaded = undefined;
    this.rebuilds++;
    return this.store();
  }

  private async load(): Promise<RoomStore<M>> {
    const store = await RoomStore.load<M>(this.room);
    this.roomId = store.roomId ?? "";
    // After a restart nobody is connected; after an eviction, whoever closed meanwhile is gone.
    announce(this.room, reconcileAll(this.room, store));
    if (this.hasSockets()) await keepPeriodic(this.room, store, this.periods);
    return store;
  }

  private hasSockets(): boolean {
    return !this.room.getConnections()[Symbol.iterator]().next().done;
  }

  /**
   * A socket passed its checks: it reads from the room's last seq on, and its user joins presence.
   * `known`: whether lastSeq is really known (else the read position starts at the first message).
   * Returns the welcome's fields; the diff goes to everyone else.
   */
  async join(conn: Conn, known: boolean) {
    const store = await this.store();
    const s = conn.state!;
    conn.setState({ ...s, readSeq: known ? store.order.lastSeq : undefined });
    const diff = reconcile(this.room, store, [s.userId]);
    announce(this.room, diff, [conn.id]);
    await keepPeriodic(this.room, store, this.periods);
    return {
      presence: [...store.present].sort(),
      lastSeq: store.order.lastSeq,
      ...welcomeTimings(this.room.env),
    };
  }

  /** Sockets that closed (onClose / onError) or that the room closed: their users may leave. */
  async left(conns: Conn[]) {
    if (conns.length === 0) return;
    const store = await this.store();
    announce(this.room, reconcile(this.room, store, usersOf(conns), new Set(conns.map((c) => c.id))));
  }

  /** Anything may have closed (a push, an access re-check): bring presence in line. */
  async settle() {
    announce(this.room, reconcileAll(this.room, await this.store()));
  }

  /** New messages in seq order (seq-order.ts); a held one goes out within `holdMs` at the latest. */
  async broadcast(message: M, holdMs: number) {
    const store = await this.store();
    await this.deliver(store.admit(message));
    if (store.order.held.size > 0) await schedule(this.room, store, "held", Date.now() + holdMs);
  }

  private async deliver(messages: M[]) {
    await this.left(deliverMessages(this.room, messages));
  }

  /**
   * Party.Server.onAlarm. `held` (release what waits for an earlier seq) is built in; the others
   * return the sockets they closed, whose users may then leave presence.
   */
  async alarm(runners: Record<Exclude<Task, "held">, () => Promise<Conn[] | undefined>>) {
    const store = await this.store();
    const closing = (run: () => Promise<Conn[] | undefined>) => async () => this.left((await run()) ?? []);
    await runDue(
      this.room,
      store,
      {
        held: async () => this.deliver((await this.store()).release(true)),
        sweep: closing(runners.sweep),
        sessions: closing(runners.sessions),
        access: closing(runners.access),
      },
      this.periods,
    );
  }
}
