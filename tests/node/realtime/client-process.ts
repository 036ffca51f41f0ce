/**
 * A realtime client in a process of its own, so a test can freeze it (SIGSTOP) or kill it
 * (SIGKILL) without a close frame: connects to the ticket URL in argv[2], heartbeats as the
 * welcome says, and prints "welcome" once connected.
 */
import WebSocket from "ws";

const ws = new WebSocket(process.argv[2]!);
ws.on("message", (data) => {
  const frame = JSON.parse(String(data)) as { type: string; heartbeatSeconds?: number };
  if (frame.type !== "welcome") return;
  setInterval(() => ws.send(JSON.stringify({ type: "heartbeat" })), (frame.heartbeatSeconds ?? 15) * 1000);
  process.stdout.write("welcome\n");
});
ws.on("close", () => process.exit(0));
