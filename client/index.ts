/**
 * The Petrel client SDK: one import for a web app, a Node script or a React Native app.
 *
 *   const petrel = new Petrel({ apiUrl, mode: "token", storage: memoryStorage() });
 *   await petrel.session.login(email, password);
 *   const room = await petrel.openRoom(roomId);
 *
 * The contract (states, events, outbox, presence, errors) is in the README, "Client SDK".
 */
import type { Locks } from "./leader.ts";
import { LiveRoom, type LiveRoomOptions } from "./room.ts";
import { Session, type SessionOptions } from "./session.ts";
import { type KeyValueStorage, memoryStorage } from "./storage.ts";

export * from "./api.ts";
export { defaultLocks, type Locks, processLocks, webLocks } from "./leader.ts";
export { Outbox, type OutboxEntry, type OutboxEntryState } from "./outbox.ts";
export {
  CLOSE_CODES,
  type ConnectionState,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_TYPING_TTL_MS,
  type FrameError,
  parseServerFrame,
  RoomClient,
  type RoomClientOptions,
  requestTicket,
  SendError,
  type ServerFrame,
  type Ticket,
  TicketError,
} from "./realtime.ts";
export {
  LiveRoom,
  type LiveRoomEvents,
  type LiveRoomOptions,
  type RoomSession,
  type RoomState,
  type RoomStatus,
} from "./room.ts";
export { Session, type SessionOptions } from "./session.ts";
export { indexedDbStorage, type KeyValueStorage, memoryStorage } from "./storage.ts";
export { UserChannel, type UserChannelOptions } from "./user-channel.ts";

export interface PetrelOptions extends SessionOptions {
  apiUrl: string;
  /** Where outboxes live (default: memory). Browsers: indexedDbStorage(); Node: fileStorage(path). */
  storage?: KeyValueStorage;
  locks?: Locks;
  WebSocket?: LiveRoomOptions["WebSocket"];
}

export class Petrel {
  readonly session: Session;
  readonly storage: KeyValueStorage;
  private readonly opts: PetrelOptions;

  constructor(opts: PetrelOptions) {
    this.opts = opts;
    this.session = new Session(opts.apiUrl, opts);
    this.storage = opts.storage ?? memoryStorage();
  }

  get api() {
    return this.session.api;
  }

  /** Open a room for the signed-in user (see LiveRoom). */
  openRoom(
    roomId: string,
    opts: Partial<Omit<LiveRoomOptions, "session" | "roomId">> = {},
  ): Promise<LiveRoom> {
    return LiveRoom.open({
      session: this.session,
      roomId,
      storage: this.storage,
      locks: this.opts.locks,
      WebSocket: this.opts.WebSocket,
      ...opts,
    });
  }
}
