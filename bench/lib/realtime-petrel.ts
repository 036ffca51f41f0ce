/**
 * Petrel's side of the realtime scenario: `partykit dev` wired to the bench Worker, one room, and
 * N real clients through the typed RoomClient (partysocket; ticket per connect; sync on connect).
 * Users: distinct users, at most the per-user socket cap each (bench/lib/realtime-users.ts).
 */
import { join } from "node:path";
import { RoomClient } from "../../client/realtime.ts";
import { publicJwks } from "../../scripts/lib/secrets.ts";
import { type Service, startPartykit } from "../../scripts/lib/stack.ts";
import type { Connect, Counters, LoadClient } from "./realtime.ts";
import type { BenchRoom } from "./realtime-users.ts";
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
      accessToken: () => room.tokens[index % room.tokens.length]!,
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
