import { afterEach, describe, expect, it, vi } from "vitest";
import { RoomStore } from "../../party/room-store.ts";
import { checkSessions } from "../../party/sessions.ts";
import { SESSION_CHECK_MAX_IDS } from "../../src/shared/internal-api.schema.ts";

/**
 * The party's revocation check at any room size (party/sessions.ts), with the API's route
 * stood in by a fetch stub that answers like /v1/internal/sessions/check does: more than
 * SESSION_CHECK_MAX_IDS ids is a 400. Thousands of real sessions and sockets would be too heavy
 * for the suite; the route itself is the real one in tests/revocation-check.test.ts.
 */
const env = {
  API_URL: "http://api.test",
  SERVICE_TOKEN: "a-service-token-of-at-least-32-characters",
  SESSION_FAIL_CLOSED_SECONDS: "30",
};

function storage() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    put: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
    list: async ({ prefix }: { prefix: string }) => new Map([...data].filter(([k]) => k.startsWith(prefix))),
  };
}

function roomOf(sessions: number) {
  const conns = Array.from({ length: sessions }, (_, i) => ({
    id: `c${i}`,
    state: { userId: `u${i}`, sessionId: `s${i}` },
    closed: undefined as number | undefined,
    close(code: number) {
      this.closed = code;
    },
  }));
  const room = { id: "room", env, storage: storage(), getConnections: () => conns };
  return { conns, room: room as unknown as Parameters<typeof checkSessions>[0] };
}

/** The API: a page over the limit is refused; `failing` pages answer 503; `revoked` are revoked. */
function api(opts: { revoked: string[]; failing?: (ids: string[]) => boolean }) {
  const pages: number[] = [];
  vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
    const { sessionIds } = JSON.parse(String(init.body)) as { sessionIds: string[] };
    pages.push(sessionIds.length);
    if (sessionIds.length > SESSION_CHECK_MAX_IDS) return new Response("{}", { status: 400 });
    if (opts.failing?.(sessionIds)) return new Response("{}", { status: 503 });
    const revoked = sessionIds.filter((id) => opts.revoked.includes(id));
    return new Response(JSON.stringify({ revoked }), { status: 200 });
  });
  return pages;
}

/** The close code a stub connection recorded. */
const codeOf = (c: unknown) => (c as { closed?: number }).closed;

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("the party's session check", () => {
  it("asks in pages of at most 1,000 and closes a revoked session in any page (1008)", async () => {
    const { conns, room } = roomOf(2500);
    const pages = api({ revoked: ["s2400"] });
    const closed = await checkSessions(room, await RoomStore.load(room));
    expect(pages).toEqual([1000, 1000, 500]);
    expect(closed.map((c) => c.id)).toEqual(["c2400"]);
    expect(conns.filter((c) => c.closed !== undefined).map((c) => [c.id, c.closed])).toEqual([
      ["c2400", 1008],
    ]);
  });

  it("fails closed: a failed page is never 'none revoked'; unverified past the bound closes with 4000", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { conns, room } = roomOf(1500);
    const store = await RoomStore.load(room);
    let down = true;
    api({ revoked: ["s1200"], failing: (ids) => down && ids.includes("s1200") });
    expect(await checkSessions(room, store)).toEqual([]); // a short outage closes nobody
    expect(store.unverified.size).toBe(500);
    vi.advanceTimersByTime(29_000);
    expect(await checkSessions(room, store)).toEqual([]);
    vi.advanceTimersByTime(1000);
    const closed = await checkSessions(room, store);
    expect(closed).toHaveLength(500); // still unverifiable after 30 s: their sockets close
    expect(new Set(closed.map((c) => codeOf(c)))).toEqual(new Set([4000]));
    expect(conns.slice(0, 1000).every((c) => c.closed === undefined)).toBe(true);
    // Once the API answers again, a revoked one is closed as revoked, the rest stay verified.
    down = false;
    for (const c of conns) c.closed = undefined;
    const after = await checkSessions(room, store);
    expect(after.map((c) => [c.id, codeOf(c)])).toEqual([["c1200", 1008]]);
    expect(store.unverified.size).toBe(0);
  });

  it("keeps the unverified sessions in room storage, so a rebuilt instance goes on counting", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { room } = roomOf(3);
    api({ revoked: [], failing: () => true });
    await checkSessions(room, await RoomStore.load(room));
    vi.advanceTimersByTime(30_000);
    const rebuilt = await RoomStore.load(room);
    expect(rebuilt.unverified.size).toBe(3);
    expect(await checkSessions(room, rebuilt)).toHaveLength(3);
  });
});
