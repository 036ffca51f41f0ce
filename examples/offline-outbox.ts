/**
 * The SDK from Node: connect, post, go offline, queue, come back, verify.
 *
 *   npm run dev                        # in one terminal
 *   npm run example:outbox             # in another (PETREL_API_URL to point elsewhere)
 *
 * "Offline" here is a network cut on this side: the WebSocket class handed to the SDK closes its
 * sockets and refuses new ones until the network is "back". The outbox lives in a file
 * (client/node/file-storage.ts), so the script also closes the room while offline and opens it
 * again from that file, as a restarted process would. At the end it reads the room's history
 * over REST and checks that every message is there exactly once, in the order it was written.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LiveRoom, ok, Petrel, type RoomStatus } from "../client/index.ts";
import { fileStorage } from "../client/node/file-storage.ts";

const apiUrl = process.env.PETREL_API_URL ?? "http://127.0.0.1:8787";

/** A network that can be cut: sockets close, and new ones fail, while `down` (hand-written, a test double of a cable). */
const network = { down: false, open: new Set<WebSocket>() };
class CuttableWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    // Port 9 (discard) on loopback: nothing listens, so the connection fails at once.
    super(network.down ? "ws://127.0.0.1:9/" : url, protocols);
    network.open.add(this);
    this.addEventListener("close", () => network.open.delete(this));
  }
}
function cut() {
  network.down = true;
  for (const ws of network.open) {
    ws.close(4999, "network cut");
    // A cut cable sends no close frame back: report the close now instead of after a timeout.
    ws.dispatchEvent(
      Object.assign(new Event("close"), { code: 4999, reason: "network cut", wasClean: false }),
    );
  }
}

const describe = (s: RoomStatus) =>
  `${s.state}${s.reconnecting ? " (reconnecting)" : ""}, ${s.pending} pending, ${s.failed} failed`;

function until(room: LiveRoom, what: string, check: (s: RoomStatus) => boolean, timeoutMs = 30_000) {
  return new Promise<void>((resolve, reject) => {
    if (check(room.current)) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}: ${describe(room.current)}`)),
      timeoutMs,
    );
    const on = (s: RoomStatus) => {
      if (!check(s)) return;
      clearTimeout(timer);
      room.off("status", on);
      resolve();
    };
    room.on("status", on);
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "petrel-example-"));
  const storage = fileStorage(join(dir, "outbox.json"));
  const petrel = new Petrel({ apiUrl, mode: "token", storage, WebSocket: CuttableWebSocket });
  const suffix = Math.random().toString(36).slice(2, 8);
  await petrel.session.register({
    email: `outbox-${suffix}@example.com`,
    password: "an example passphrase",
    name: `Outbox ${suffix}`,
  });
  const org = await ok(petrel.api.v1.orgs.$post({ json: { name: `Outbox ${suffix}` } }));
  const { id: roomId } = await ok(
    petrel.api.v1.orgs[":orgId"].rooms.$post({
      param: { orgId: org.id },
      json: { name: "general", visibility: "public" },
    }),
  );

  // 1. Connect and post.
  let room = await petrel.openRoom(roomId);
  room.on("status", (s) => console.log(`room: ${describe(s)}`));
  await until(room, "live", (s) => s.state === "live");
  await room.send("online: hello");
  await until(room, "the first message to be sent", (s) => s.state === "live" && s.pending === 0);

  // 2. Go offline and queue.
  cut();
  await until(room, "offline", (s) => s.state === "offline");
  const queued = ["offline: one", "offline: two", "offline: three"];
  for (const body of queued) await room.send(body);
  console.log(`queued ${room.pending.length} while offline`);

  // 3. A restart while still offline: the outbox comes back from the file.
  room.close();
  room = await petrel.openRoom(roomId);
  room.on("status", (s) => console.log(`room (reopened): ${describe(s)}`));
  console.log(
    `after reopening: ${room.pending.length} pending (${room.pending.map((e) => e.body).join(", ")})`,
  );
  if (room.pending.length !== queued.length) throw new Error("the outbox did not survive the restart");

  // 4. Come back: the outbox is sent, in order, once.
  network.down = false;
  room.client.socket.reconnect();
  await until(room, "the outbox to drain", (s) => s.state === "live" && s.pending === 0);

  // 5. Verify on the server.
  const history = await ok(
    petrel.api.v1.rooms[":roomId"].messages.$get({ param: { roomId }, query: { limit: "100" } }),
  );
  const bodies = history.items.map((m) => m.body);
  const expected = ["online: hello", ...queued];
  console.log(`the server has: ${JSON.stringify(bodies)}`);
  room.close();
  rmSync(dir, { recursive: true, force: true });
  if (JSON.stringify(bodies) !== JSON.stringify(expected))
    throw new Error(`expected ${JSON.stringify(expected)}`);
  console.log("ok: every message exactly once, in order");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
