import { describe, expect, inject, it } from "vitest";
import { connectRoom, roomFixture, until } from "./helpers/realtime.ts";

// The parties' HTTP side without a credential: a liveness answer, and nothing about any room.

describe("party HTTP without a credential", () => {
  it("GET answers the same liveness body for a busy room, an empty one and __health", async () => {
    const { owner, room } = await roomFixture();
    const a = await connectRoom(owner, room.id);
    const b = await connectRoom(owner, room.id);
    try {
      // Both sockets are in (welcome received), so the room really is busy when we ask.
      await until(() => a.presence.length > 0 && b.presence.length > 0, 5000, "two welcomes");
      const get = async (roomId: string) => {
        const res = await fetch(`${inject("partyUrl")}/parties/chat/${roomId}`);
        return { status: res.status, body: await res.text() };
      };
      const busy = await get(room.id);
      expect(busy).toEqual({ status: 200, body: JSON.stringify({ ok: true }) });
      expect(await get(crypto.randomUUID())).toEqual(busy);
      expect(await get("__health")).toEqual(busy);
    } finally {
      a.client.close();
      b.client.close();
    }
  });
});
