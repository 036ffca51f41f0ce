/** Realtime tickets (POST /v1/realtime/tickets) and the partysocket that fetches one per connect. */
import PartySocket, { type PartySocketOptions } from "partysocket";

/** Where tickets come from: the API, with the caller's access token. */
export interface TicketSource {
  apiUrl: string;
  accessToken: () => string | Promise<string>;
  fetch?: typeof fetch;
}

export interface Ticket {
  url: string;
  host: string;
  party: string;
  room: string;
  ticket: string;
  expiresAt: string;
}

export async function requestTicket(opts: TicketSource, channel: string): Promise<Ticket> {
  const res = await (opts.fetch ?? fetch)(`${opts.apiUrl}/v1/realtime/tickets`, {
    method: "POST",
    headers: { authorization: `Bearer ${await opts.accessToken()}`, "content-type": "application/json" },
    body: JSON.stringify({ channel }),
  });
  if (!res.ok) throw new TicketError(res.status);
  return (await res.json()) as Ticket;
}

/**
 * A partysocket to where the first ticket points, asking for a fresh ticket on every reconnect
 * (tickets live ≤ 60 s and are bound to one channel). Retries forever, with `tuning`'s delays.
 */
export function ticketedSocket(
  first: Ticket,
  next: () => Promise<Ticket>,
  tuning: Pick<
    PartySocketOptions,
    "WebSocket" | "minReconnectionDelay" | "maxReconnectionDelay" | "shouldReconnectOnClose"
  >,
): PartySocket {
  let prefetched: Ticket | undefined = first;
  return new PartySocket({
    host: first.host,
    protocol: first.url.startsWith("wss:") ? "wss" : "ws",
    party: first.party,
    room: first.room,
    maxRetries: Number.POSITIVE_INFINITY,
    ...tuning,
    query: async () => {
      const t = prefetched ?? (await next());
      prefetched = undefined;
      return { ticket: t.ticket };
    },
  });
}

export class TicketError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`ticket request failed: ${status}`);
    this.status = status;
  }
}
