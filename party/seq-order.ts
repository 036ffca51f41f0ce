/**
 * Broadcast order for new messages. Concurrent writes finish in any order; sending them as they
 * come would make every client see a gap and sync. A message ahead of a gap is held until the gap
 * fills, or at most HOLD_MS (clients then fill any real gap through sync). Edits and deletions
 * (seq already broadcast) go out at once. Plain state and functions: the party owns the timer.
 */
export const HOLD_MS = 250;

export interface SeqOrder<M extends { seq: number }> {
  /** The highest seq broadcast (or known from the API); 0 = unknown, so nothing is held. */
  lastSeq: number;
  held: Map<number, M>;
}

export const newSeqOrder = <M extends { seq: number }>(): SeqOrder<M> => ({ lastSeq: 0, held: new Map() });

/** Take one message; returns what to broadcast now, in order (possibly nothing: it is held). */
export function admit<M extends { seq: number }>(order: SeqOrder<M>, message: M): M[] {
  if (message.seq <= order.lastSeq || order.lastSeq === 0) {
    order.lastSeq = Math.max(order.lastSeq, message.seq);
    return [message, ...release(order, false)];
  }
  order.held.set(message.seq, message);
  return release(order, false);
}

/**
 * The held messages that may go out: those that follow lastSeq without a gap, or (force, when
 * the hold time is over) all of them in seq order, gaps or not.
 */
export function release<M extends { seq: number }>(order: SeqOrder<M>, force: boolean): M[] {
  const out: M[] = [];
  const next = () => (force ? Math.min(...order.held.keys()) : order.lastSeq + 1);
  while (order.held.size > 0 && order.held.has(next())) {
    const seq = next();
    out.push(order.held.get(seq)!);
    order.held.delete(seq);
    order.lastSeq = Math.max(order.lastSeq, seq);
  }
  return out;
}
