import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { partykit, RawClient, registerUser, roomWith, ticketUrl, type User, until } from "./lib.ts";

/**
 * Presence as leases (API.md v1.1) against a real `partykit dev` whose lease is short
 * (tests/setup/node-stack.ts): every assertion is on the raw frames the server sent.
 */
const lease = () => inject("nodeStack").leaseSeconds * 1000;
const heartbeat = () => lease() / 2;
const ROOT = join(import.meta.dirname, "../../..");
const open: RawClient[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  for (const p of children.splice(0)) p.kill("SIGKILL");
});

async function connect(user: User, roomId: string) {
  const c = await RawClient.open(user, roomId);
  open.push(c);
  expect(c.welcome).toMatchObject({ type: "welcome", userId: user.id });
  return c;
}

/** A client in its own process (client-process.ts), welcomed. */
async function clientProcess(user: User, roomId: string): Promise<ChildProcess> {
  const child = spawn(
    join(ROOT, "node_modules/.bin/node"),
    [join(import.meta.dirname, "client-process.ts"), await ticketUrl(user, roomId)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  await until(() => out.includes("welcome"), 15_000, "the child's welcome");
  return child;
}

async function threeUsers() {
  const [ada, bob, cy] = await Promise.all(["ada", "bob", "cy"].map(registerUser));
  const roomId = await roomWith(ada!, [bob!, cy!]);
  return { ada: ada!, bob: bob!, cy: cy!, roomId };
}

describe("presence leases", () => {
  it("two sockets of one user are one entry; closing one keeps the user present", async () => {
    const { ada, bob, roomId } = await threeUsers();
    const tab1 = await connect(ada, roomId);
    const tab2 = await connect(ada, roomId);
    expect(tab2.welcome.presence).toEqual([ada.id]);
    const b = await connect(bob, roomId);
    expect(b.welcome.presence).toEqual([ada.id, bob.id].sort());
    await until(() => tab1.diffs().length === 1 && tab2.diffs().length === 1, 5000, "bob joins");
    expect(tab1.diffs()).toEqual([{ joined: [bob.id], left: [] }]); // tab2 was no join of ada
    tab1.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.diffs()).toEqual([]);
    tab2.close();
    await until(() => b.diffs().length === 1, 5000, "ada leaves with her last socket");
    expect(b.diffs()).toEqual([{ joined: [], left: [ada.id] }]);
  });

  it("a client frozen without a close frame leaves the others' presence within lease + one heartbeat", async () => {
    const { ada, bob, roomId } = await threeUsers();
    const b = await connect(bob, roomId);
    const child = await clientProcess(ada, roomId);
    await until(() => b.diffs().length === 1, 5000, "ada joins");
    child.kill("SIGSTOP"); // no close frame, TCP stays open: only the lease can tell
    const stoppedAt = Date.now();
    await until(() => b.diffs().length === 2, lease() + heartbeat() + 3000, "ada's lease runs out");
    expect(b.diffs()[1]).toEqual({ joined: [], left: [ada.id] });
    // Not before the lease: she may have sent her last heartbeat just before she froze.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(lease() - heartbeat());
  });

  it("a client killed without a close frame leaves the others' presence", async () => {
    const { ada, bob, roomId } = await threeUsers();
    const b = await connect(bob, roomId);
    const child = await clientProcess(ada, roomId);
    await until(() => b.diffs().length === 1, 5000, "ada joins");
    child.kill("SIGKILL");
    await until(() => b.diffs().length === 2, lease() + heartbeat() + 3000, "ada leaves");
    expect(b.diffs()).toEqual([
      { joined: [ada.id], left: [] },
      { joined: [], left: [ada.id] },
    ]);
  });

  it("after partykit restarts, nobody is shown who is not connected", async () => {
    const { ada, bob, cy, roomId } = await threeUsers();
    const a = await connect(ada, roomId);
    const b = await connect(bob, roomId);
    expect(b.welcome.presence).toEqual([ada.id, bob.id].sort());
    await partykit("stop");
    try {
      await until(() => a.closed !== undefined && b.closed !== undefined, 10_000, "sockets drop");
    } finally {
      await partykit("start");
    }
    const again = await connect(bob, roomId); // ada does not come back
    expect(again.welcome.presence).toEqual([bob.id]);
    const c = await connect(cy, roomId);
    expect(c.welcome.presence).toEqual([bob.id, cy.id].sort());
    await until(() => again.diffs().length === 1, 5000, "cy joins");
    expect(again.diffs()).toEqual([{ joined: [cy.id], left: [] }]); // no word of ada
  }, 120_000);
});
