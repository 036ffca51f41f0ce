import { describe, expect, it } from "vitest";
import { admit, newSeqOrder, release } from "../../party/seq-order.ts";

/** The chat party's broadcast order (party/seq-order.ts), without a party or a timer. */
const m = (seq: number, body = `m${seq}`) => ({ seq, body });
const seqs = (ms: { seq: number }[]) => ms.map((x) => x.seq);

function orderAt(lastSeq: number) {
  const order = newSeqOrder<ReturnType<typeof m>>();
  order.lastSeq = lastSeq;
  return order;
}

describe("seq order", () => {
  it("sends messages that follow lastSeq at once and moves lastSeq", () => {
    const order = orderAt(3);
    expect(seqs(admit(order, m(4)))).toEqual([4]);
    expect(seqs(admit(order, m(5)))).toEqual([5]);
    expect(order.lastSeq).toBe(5);
    expect(order.held.size).toBe(0);
  });

  it("holds a message ahead of a gap and sends both, in order, when the gap fills", () => {
    const order = orderAt(3);
    expect(admit(order, m(6))).toEqual([]);
    expect(admit(order, m(5))).toEqual([]);
    expect([...order.held.keys()].sort()).toEqual([5, 6]);
    expect(seqs(admit(order, m(4)))).toEqual([4, 5, 6]);
    expect(order.lastSeq).toBe(6);
    expect(order.held.size).toBe(0);
  });

  it("sends edits and deletions (seq already broadcast) at once, without moving lastSeq back", () => {
    const order = orderAt(7);
    admit(order, m(9));
    expect(admit(order, m(2, "edited"))).toEqual([m(2, "edited")]);
    expect(order.lastSeq).toBe(7);
    expect([...order.held.keys()]).toEqual([9]);
  });

  it("holds nothing while lastSeq is unknown (0): the first message sets it", () => {
    const order = newSeqOrder<ReturnType<typeof m>>();
    expect(seqs(admit(order, m(12)))).toEqual([12]);
    expect(order.lastSeq).toBe(12);
    expect(admit(order, m(14))).toEqual([]);
  });

  it("without force, release sends only what follows lastSeq without a gap", () => {
    const order = orderAt(1);
    admit(order, m(3));
    admit(order, m(4));
    expect(release(order, false)).toEqual([]);
    expect(order.held.size).toBe(2);
  });

  it("when the hold time is over, release(force) sends every held message in seq order across gaps", () => {
    const order = orderAt(1);
    for (const seq of [7, 3, 5, 4]) admit(order, m(seq));
    expect(seqs(release(order, true))).toEqual([3, 4, 5, 7]);
    expect(order.lastSeq).toBe(7);
    expect(order.held.size).toBe(0);
    // After the forced release, the order continues from the highest seq sent.
    expect(seqs(admit(order, m(8)))).toEqual([8]);
    expect(admit(order, m(10))).toEqual([]);
  });

  it("release(force) with nothing held sends nothing", () => {
    const order = orderAt(5);
    expect(release(order, true)).toEqual([]);
    expect(order.lastSeq).toBe(5);
  });
});
