/**
 * A Petrel client in a few lines: register, create an org and a room, listen on the room's socket,
 * post a message over REST and see it arrive over the socket. End-to-end types come from the API
 * itself (`hc<App>`), and the socket from the realtime helper (partysocket underneath).
 *
 *   npm run dev                       # in one terminal
 *   npm run example                   # in another (PETREL_API_URL to point elsewhere)
 */
import { hc } from "hono/client";
import { RoomClient } from "../client/realtime.ts";
import type { App } from "../src/app.ts";

const apiUrl = process.env.PETREL_API_URL ?? "http://127.0.0.1:8787";

/** Narrow a typed response to its success status (errors are problem+json with a `code`). */
async function expectStatus<R extends { status: number; text(): Promise<string> }, S extends number>(
  res: R,
  status: S,
): Promise<Extract<R, { status: S }>> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return res as Extract<R, { status: S }>;
}

async function main() {
  const anon = hc<App>(apiUrl);
  const suffix = Math.random().toString(36).slice(2, 8);
  const reg = await anon.v1.auth.register!.$post({
    json: {
      email: `example-${suffix}@example.com`,
      password: "an example passphrase",
      name: `Example ${suffix}`,
    },
  });
  // The auth routes' stacked rate-limit middleware hides their response type from hc (a known gap):
  // the shape is AuthResponse in /openapi.json.
  const { user, accessToken } = (await (await expectStatus(reg, 201)).json()) as {
    user: { email: string; handle: string };
    accessToken: string;
  };
  console.log(`registered ${user.email} as @${user.handle}`);

  const api = hc<App>(apiUrl, { headers: { authorization: `Bearer ${accessToken}` } });
  const org = await (
    await expectStatus(await api.v1.orgs.$post({ json: { name: `Example ${suffix}` } }), 201)
  ).json();
  const roomRes = await api.v1.orgs[":orgId"].rooms.$post({
    param: { orgId: org.id },
    json: { name: "general", visibility: "public" },
  });
  const room = await (await expectStatus(roomRes, 201)).json();
  console.log(`created org ${org.slug} and room #${room.name}`);

  const arrived = new Promise<string>((resolve) => {
    void RoomClient.connect({
      apiUrl,
      accessToken: () => accessToken,
      roomId: room.id,
      onState: (state) => console.log(`socket: ${state}`),
      onMessage: (m) => resolve(`message #${m.seq} arrived on the socket: "${m.body}"`),
    }).then(async (client) => {
      // Once live, post through REST: the API publishes it to the room's party.
      const wait = setInterval(async () => {
        if (client.state !== "live") return;
        clearInterval(wait);
        const posted = await api.v1.rooms[":roomId"].messages.$post({
          param: { roomId: room.id },
          json: { body: "Hello from the typed client!", clientId: crypto.randomUUID() },
        });
        console.log(`posted over REST: ${posted.status}`);
        setTimeout(() => client.close(), 500);
      }, 50);
    });
  });
  console.log(await arrived);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
