/**
 * The Upstash REST bridge (scripts/lib/upstash-bridge.ts) in its own process, so its event loop
 * does not share a core with autocannon's. Usage: node bench/lib/bridge-process.ts <redisUrl> <port>,
 * token in BRIDGE_TOKEN. Started and stopped by bench/lib/services.ts.
 */
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";

const [redisUrl, port] = process.argv.slice(2);
const token = process.env.BRIDGE_TOKEN;
if (!redisUrl || !port || !token) {
  console.error("usage: BRIDGE_TOKEN=… node bench/lib/bridge-process.ts <redisUrl> <port>");
  process.exit(2);
}
const bridge = await startUpstashBridge({ redisUrl, token, port: Number(port), host: "127.0.0.1" });
console.log(`upstash bridge listening on ${bridge.url}`);
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    bridge.close().finally(() => process.exit(0));
  });
}
