/**
 * Server frames as the SDK reads them: the shared protocol (src/shared/realtime.ts) plus the v1.1
 * frames a server may send before the shared schema has them; every frame is parsed before use.
 */
import { z } from "zod";
import { CLOSE, ServerFrameSchema } from "../src/shared/realtime.ts";

/** How long a typing indicator shows when the frame does not say (API.md v1.1 servers send ttlMs). */
export const DEFAULT_TYPING_TTL_MS = 4000;
/** Close codes of API.md v1.1 the client acts on, beyond the shared CLOSE table. */
export const CLOSE_CODES = { ...CLOSE, slowConsumer: 4001, flood: 1008, tooLarge: 1009 } as const;

const Ids = z.array(z.string());
/** The v1.1 forms of frames this client reads, whether or not the shared schema has them yet. */
const V11 = [
  z.object({
    type: z.literal("welcome"),
    userId: z.string(),
    presence: Ids,
    lastSeq: z.number().int().min(0),
    /** Send `heartbeat {seq}` this often (default leaseSeconds / 3); the lease lasts leaseSeconds. */
    heartbeatSeconds: z.number().positive().optional(),
    leaseSeconds: z.number().positive().optional(),
    /** Also send a heartbeat (read-ack) after this many messages. */
    ackEvery: z.number().int().min(1).optional(),
  }),
  z.object({ type: z.literal("typing"), userId: z.string(), ttlMs: z.number().int().min(0).optional() }),
  z.object({ type: z.literal("presence_diff"), joined: Ids.default([]), left: Ids.default([]) }),
] as const;
type V11Frame = z.output<(typeof V11)[number]>;
type SharedOption = (typeof ServerFrameSchema.options)[number];
const replaced = new Set<string>(V11.map((o) => o.shape.type.value));
// Runtime filter: the shared union may or may not already define these types (a duplicate
// discriminator would throw), so the union is typed by hand below.
const shared = ServerFrameSchema.options.filter((o) => !replaced.has(o.shape.type.value)) as SharedOption[];
/**
 * Server frames as this client reads them: the shared protocol, plus the v1.1 frames (presence
 * diffs, heartbeat timings in the welcome, typing ttl). Not strict, like the shared one.
 */
export const ClientServerFrameSchema = z.discriminatedUnion("type", [...V11, ...shared] as unknown as [
  (typeof V11)[0],
  ...SharedOption[],
]);
export type ServerFrame = Exclude<z.output<typeof ServerFrameSchema>, { type: V11Frame["type"] }> | V11Frame;

export type FrameError = {
  code: string;
  message: string;
  requestId?: string;
  clientId?: string;
  retryAfter?: number;
};

/** A send that did not get an ack: refused by the server (an error frame), or the socket closed. */
export class SendError extends Error {
  readonly code: string;
  readonly clientId: string;
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;
  constructor(clientId: string, error: Omit<FrameError, "clientId">) {
    super(error.message);
    this.name = "SendError";
    this.code = error.code;
    this.clientId = clientId;
    this.retryAfter = error.retryAfter;
    this.requestId = error.requestId;
  }
}

/**
 * A server frame, checked against the protocol before anything acts on it. Malformed JSON and
 * frames that do not match come back as an error with the party's own codes for the same faults.
 */
export function parseServerFrame(raw: string): { frame: ServerFrame } | { error: FrameError } {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { error: { code: "malformed_frame", message: "The server sent a frame that is not JSON." } };
  }
  const parsed = ClientServerFrameSchema.safeParse(data);
  if (parsed.success) return { frame: parsed.data as ServerFrame };
  const issue = parsed.error.issues[0];
  const where = issue?.path.join(".") || "type";
  return { error: { code: "invalid_frame", message: `Invalid server frame: ${where}: ${issue?.message}` } };
}
