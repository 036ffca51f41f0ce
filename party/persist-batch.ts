/**
 * The group commit's one call: a batch of socket messages to the API's batch route, then each
 * sender's own answer (ack, or an error frame with its clientId) and the broadcast of what was
 * stored, in seq order. The call's request id goes into every frame it answers, so a client's
 * report finds the API's log line.
 */

import { MessageBatchReplySchema } from "../src/shared/internal-api.schema.ts";
import type { Message } from "../src/shared/message.schema.ts";
import type { PendingMessage } from "./group-commit.ts";
import { type Answer, type CallScope, refused } from "./internal-api.ts";
import { callApi, send } from "./transport.ts";

const RETRY = "Could not store the message; retry with the same clientId.";

type CallReply = Awaited<ReturnType<typeof callApi>>;

/** Stores `batch` in one internal call; never throws (every sender is answered). Resolves with the call's db cost. */
export async function persistBatch(
  scope: CallScope,
  batch: PendingMessage[],
  broadcast: (message: Message) => unknown,
): Promise<number | null> {
  const requestId = crypto.randomUUID();
  const answers = batch.map((p): Answer => ({ requestId, clientId: p.frame.clientId }));
  let res: CallReply;
  try {
    res = await callApi(scope.env, `/v1/internal/rooms/${scope.room}/messages/batch`, {
      method: "POST",
      requestId,
      body: {
        messages: batch.map(({ conn, frame }) => ({
          authorId: conn.state!.userId,
          clientId: frame.clientId,
          body: frame.body,
          ...(frame.attachments !== undefined ? { attachments: frame.attachments } : {}),
        })),
      },
    });
  } catch (err) {
    await failAll(scope, batch, answers, err);
    return null;
  }
  const db = costOf(res.cost);
  if ((res.status === 400 || res.status === 413) && batch.length > 1) {
    // The API refused the group as a whole (its body checks differ from the party's): nothing was
    // stored, so each message goes again on its own, and only the one at fault is refused.
    let total = db ?? 0;
    for (const p of batch) total += (await persistBatch(scope, [p], broadcast)) ?? 0;
    return total;
  }
  if (res.status !== 200) {
    // The whole call was refused (e.g. 503): nothing was stored, every sender hears why.
    for (const [i, p] of batch.entries()) refused(scope, p.conn, res, answers[i]!, RETRY);
    return db;
  }
  const parsed = MessageBatchReplySchema.safeParse(res.body);
  if (!parsed.success || parsed.data.results.length !== batch.length) {
    await failAll(scope, batch, answers, new Error("malformed API reply (batch)"));
    return db;
  }
  for (const [i, result] of parsed.data.results.entries()) {
    const { conn, frame } = batch[i]!;
    if ("message" in result) {
      const { message } = result;
      send(conn, { type: "ack", clientId: frame.clientId, id: message.id, seq: message.seq });
      // A replay of an already-stored clientId (200) was broadcast the first time; the
      // broadcast is awaited (it may keep seq order in room storage) before the next one.
      if (result.status === 201) await broadcast(message);
    } else {
      const reply = { status: result.status, body: result.problem, retryAfter: result.retryAfter };
      refused(scope, conn, reply, answers[i]!, RETRY);
    }
  }
  return db;
}

/** Unreachable API or a reply that breaks its schema: every sender gets dependency_unavailable, one report. */
async function failAll(scope: CallScope, batch: PendingMessage[], answers: Answer[], err: unknown) {
  batch.forEach((p, i) => {
    send(p.conn, { type: "error", code: "dependency_unavailable", message: RETRY, ...answers[i]! });
  });
  await scope.report(err, answers[0]!.requestId, batch[0]?.conn.state?.userId);
}

const costOf = (header: string | undefined) => {
  const n = Number(/db=(\d+)/.exec(header ?? "")?.[1]);
  return Number.isFinite(n) ? n : null;
};
