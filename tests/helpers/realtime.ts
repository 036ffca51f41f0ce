import { exports } from "cloudflare:workers";
import { RoomClient, type RoomClientOptions } from "../../client/realtime.ts";
import { RoomSchema } from "../../src/routes/rooms/rooms.schema.ts";
import type { Message } from "../../src/shared/message.schema.ts";
import { type ServerFrame, ServerFrameSchema } from "../../src/shared/realtime.ts";
import { api, BASE, jsonBody, parsed } from "./api.ts";
import { addMember, createOrg, type OrgRole } from "./orgs.ts";
import { bearer, registerUser, type TestUser } from "./users.ts";

/** The API as the client helper sees it: the in-process Worker. */
export const apiFetch: typeof fetch = (input, init) =>
  exports.default.fetch(new Request(input as string, init));

export async function createRoom(
  user: TestUser,
  orgId: string,
  visibility: "public" | "private" = "public",
  name = "general",
) {
  const res = await api(`/v1/orgs/${orgId}/rooms`, jsonBody({ name, visibility }, bearer(user.accessToken)));
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${await res.text()}`);
  return parsed(res, RoomSchema);
}

/** An owner, an org, a public room, and optionally more members. */
export async function roomFixture(others: OrgRole[] = []) {
  const owner = await registerUser();
  const org = await createOrg(owner);
  const room = await createRoom(owner, org.id);
  const members: TestUser[] = [];
  for (const role of others) {
    const u = await registerUser();
    await addMember(org.id, u, role);
    members.push(u);
  }
  return { owner, org, room, members };
}

export interface Collected {
  client: RoomClient;
  messages: Message[];
  updates: Message[];
  presence: string[][];
  typing: string[];
  errors: Array<{ code: string; message: string }>;
  states: string[];
}

/** A real partysocket client (through the typed helper) that records everything it receives. */
export async function connectRoom(
  user: TestUser,
  roomId: string,
  opts: Partial<RoomClientOptions> = {},
): Promise<Collected> {
  const c: Omit<Collected, "client"> = {
    messages: [],
    updates: [],
    presence: [],
    typing: [],
    errors: [],
    states: [],
  };
  const client = await RoomClient.connect({
    apiUrl: BASE,
    fetch: apiFetch,
    accessToken: () => user.accessToken,
    roomId,
    onMessage: (m) => c.messages.push(m),
    onUpdate: (m) => c.updates.push(m),
    onPresence: (u) => c.presence.push(u),
    onTyping: (u) => c.typing.push(u),
    onError: (e) => c.errors.push(e),
    onState: (s) => c.states.push(s),
    ...opts,
  });
  return { client, ...c };
}

export async function until(cond: () => boolean, timeoutMs = 10_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A raw WebSocket (no reconnects) through workerd's fetch upgrade: exposes the handshake status and close codes. */
export async function rawSocket(url: string) {
  const res = await fetch(url.replace(/^ws/, "http"), { headers: { upgrade: "websocket" } });
  const ws = res.webSocket ?? undefined;
  const frames: ServerFrame[] = [];
  /** The same frames as the server sent them, every field kept (the schema drops unknown ones). */
  const raw: Array<Record<string, unknown>> = [];
  let closed: { code: number; reason: string } | undefined;
  if (!ws) {
    await res.body?.cancel();
    return { status: res.status, ws, frames, raw, closed: () => closed };
  }
  ws.accept();
  // Parsed with the protocol schema: a frame that breaks it fails the test that receives it.
  ws.addEventListener("message", (e) => {
    const data = JSON.parse(String(e.data));
    raw.push(data);
    frames.push(ServerFrameSchema.parse(data));
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  return { status: res.status, ws, frames, raw, closed: () => closed };
}

export async function ticketFor(user: TestUser, channel: string) {
  const res = await api("/v1/realtime/tickets", jsonBody({ channel }, bearer(user.accessToken)));
  return {
    status: res.status,
    body: (await res.json()) as { url: string; ticket: string; host: string; party: string; room: string },
  };
}

/** The seqs of the `message` frames a raw socket received, in arrival order (duplicates kept). */
export const messageSeqs = (raw: Array<Record<string, unknown>>) =>
  raw.filter((f) => f.type === "message").map((f) => (f.message as { seq: number }).seq);

/** A raw socket to `partyUrl` (e.g. the fault party) with a ticket the API issued for this room. */
export async function rawRoomSocket(user: TestUser, roomId: string, partyUrl: string) {
  const { body } = await ticketFor(user, `room:${roomId}`);
  const url = new URL(body.url);
  const sock = await rawSocket(`${partyUrl.replace(/^http/, "ws")}${url.pathname}${url.search}`);
  if (!sock.ws) throw new Error(`socket refused: ${sock.status}`);
  await until(() => sock.raw.length > 0, 10_000, "welcome");
  return { ...sock, ws: sock.ws, send: (frame: unknown) => sock.ws!.send(JSON.stringify(frame)) };
}

/** POST to a chat room on `partyUrl` with the service credential: a push, or a dev/test hook. */
export async function partyPost(
  partyUrl: string,
  roomId: string,
  serviceToken: string,
  opts: { push?: unknown; debug?: "instance" | "rebuild" },
) {
  const res = await fetch(`${partyUrl}/parties/chat/${roomId}`, {
    method: "POST",
    headers: {
      "x-petrel-service-token": serviceToken,
      "content-type": "application/json",
      ...(opts.debug ? { "x-petrel-debug": opts.debug } : {}),
    },
    ...(opts.push ? { body: JSON.stringify(opts.push) } : {}),
  });
  if (!res.ok) throw new Error(`party POST failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { instance?: string; rebuilds?: number };
}
