/**
 * Petrel's side of the realtime scenario: `partykit dev` wired to the bench Worker, one room, and
 * N real clients through the typed RoomClient (partysocket; ticket per connect; sync on connect).
 *
 * Users: ONE registered user opens all N sockets (a user may have many tabs; presence counts the
 * user once). The API has no public shortcut to add members, and registering N users would cost N
 * production password hashes; one user exercises the same per-socket path (ticket, admission,
 * /state, sync, broadcast fan-out to every connection).
 */
import { join } from "node:path";
import { RoomClient } from "../../client/realtime.ts";
import { publicJwks } from "../../scripts/lib/secrets.ts";
import { type Service, startPartykit } from "../../scripts/lib/stack.ts";
import type { Connect, Counters, LoadClient } from "./realtime.ts";
import type { BenchContext } from "./scenarios.ts";

/** `partykit dev` with the vars the tests pass, pointed at the bench Worker. */
export function startBenchParty(opts: {
  port: number;
  apiUrl: string;
  vars: Readonly<Record<string, string>>;
  stateDir: string;
}): Promise<Service> {
  return startPartykit({
    port: opts.port,
    persistDir: join(opts.stateDir, "partykit"),
    vars: {
      API_URL: opts.apiUrl,
      JWT_ISSUER: opts.apiUrl,
      JWT_PUBLIC_JWKS: publicJwks(opts.vars.JWT_PRIVATE_KEYS!),
      SERVICE_TOKEN: opts.vars.SERVICE_TOKEN!,
      ENVIRONMENT: "production",
      // The default (40 frames/s per socket) protects production; the senders here may exceed it.
      MAX_FRAMES_PER_SECOND: "100000",
    },
  });
}

export interface BenchRoom {
  roomId: string;
  accessToken: string;
}

async function postJson(ctx: BenchContext, path: string, body: unknown, token?: string) {
  const res = await ctx.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Register the user, create an org and a public room. */
export async function createBenchRoom(ctx: BenchContext): Promise<BenchRoom> {
  const user = await postJson(ctx, "/v1/auth/register", {
    email: `realtime-${crypto.randomUUID()}@bench.test`,
    password: "benchmark passphrase 2026",
    name: "Bench realtime",
  });
  const accessToken = String(user.accessToken);
  const org = await postJson(ctx, "/v1/orgs", { name: "Bench realtime" }, accessToken);
  const room = await postJson(
    ctx,
    `/v1/orgs/${String(org.id)}/rooms`,
    { name: "bench", visibility: "public" },
    accessToken,
  );
  return { roomId: String(room.id), accessToken };
}

/** A RoomClient per index; resolves once the client is live (welcome + initial sync done). */
export function petrelConnector(ctx: BenchContext, room: BenchRoom, counters: Counters): Connect {
  return async (index, onBody) => {
    let live!: () => void;
    let failed!: (err: Error) => void;
    const isLive = new Promise<void>((resolve, reject) => {
      live = resolve;
      failed = reject;
    });
    let wasLive = false;
    const client = await RoomClient.connect({
      apiUrl: ctx.baseUrl,
      accessToken: () => room.accessToken,
      roomId: room.roomId,
      onMessage: (m) => onBody(m.body),
      onState: (state) => {
        if (state === "live" && !wasLive) {
          wasLive = true;
          live();
        }
        if (!wasLive) return;
        if (state === "reconnecting") counters.reconnects++;
        if (state === "syncing") counters.gapSyncs++;
      },
      onError: (e) => {
        counters.errors++;
        if (counters.errors <= 5) console.error(`[bench] client ${index}: ${e.code} ${e.message}`);
      },
    });
    const timer = setTimeout(() => failed(new Error(`client ${index} not live after 30 s`)), 30_000);
    try {
      await isLive;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const adapter: LoadClient = {
      send: (body) => client.send(body),
      close: () => client.close(),
    };
    return adapter;
  };
}
