import { DependencyError } from "../lib/errors.ts";
import { SERVICE_AUTH_HEADER } from "../shared/realtime.ts";

/**
 * The API's side of PartyKit: it publishes into party rooms over HTTP with the service
 * credential (a header no user token can satisfy). The parties call back the same way.
 */
export interface RealtimePublisher {
  publish(party: string, room: string, event: unknown, requestId?: string): Promise<void>;
  ping(): Promise<void>;
}

export function createPartykitPublisher(
  baseUrl: string,
  serviceToken: string,
  timeoutMs: number,
): RealtimePublisher {
  const base = baseUrl.replace(/\/$/, "");
  const call = async (path: string, init: RequestInit) => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new DependencyError("realtime", err);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new DependencyError("realtime", new Error(`party answered ${res.status}`));
    }
    return res;
  };
  return {
    publish: async (party, room, event, requestId) => {
      const res = await call(`/parties/${encodeURIComponent(party)}/${encodeURIComponent(room)}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SERVICE_AUTH_HEADER]: serviceToken,
          ...(requestId ? { "x-request-id": requestId } : {}),
        },
        body: JSON.stringify(event),
      });
      await res.body?.cancel();
    },
    ping: async () => {
      const res = await call("/parties/chat/__health", { method: "GET" });
      await res.body?.cancel();
    },
  };
}
