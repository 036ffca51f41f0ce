import { afterEach, describe, expect, it, vi } from "vitest";
import { parseServerFrame } from "../../client/realtime.ts";
import { askApi } from "../../party/internal-api.ts";
import { StoredMessageSchema } from "../../src/shared/internal-api.schema.ts";

/**
 * Frames and internal-API replies are parsed where they are received (client and party): what
 * does not match the shared schema is an error, never data. Plain functions, tested alone.
 */
const message = {
  id: "01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7a",
  roomId: "01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7b",
  seq: 1,
  authorId: "01936b2e-7c4a-7d2e-9f3a-2b1c0d9e8f7c",
  body: "hi",
  attachments: [],
  clientId: "c1",
  createdAt: "2026-01-01T00:00:00.000Z",
  editedAt: null,
  deletedAt: null,
};

describe("the client parses server frames", () => {
  it("accepts a frame of the protocol", () => {
    expect(parseServerFrame(JSON.stringify({ type: "message", message }))).toEqual({
      frame: { type: "message", message },
    });
  });

  it("turns malformed JSON, unknown types and wrong fields into errors", () => {
    expect(parseServerFrame("{")).toMatchObject({ error: { code: "malformed_frame" } });
    expect(parseServerFrame(JSON.stringify({ type: "surprise" }))).toMatchObject({
      error: { code: "invalid_frame" },
    });
    const badSeq = { type: "message", message: { ...message, seq: "1" } };
    expect(parseServerFrame(JSON.stringify(badSeq))).toMatchObject({
      error: { code: "invalid_frame", message: expect.stringContaining("message.seq") },
    });
  });
});

describe("the party parses the API's replies", () => {
  afterEach(() => vi.unstubAllGlobals());

  function call(reply: unknown, status = 201) {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify(reply), { status }));
    const sent: unknown[] = [];
    const reported: unknown[] = [];
    const conn = { send: (f: string) => sent.push(JSON.parse(f)), state: { userId: "u", sessionId: "s" } };
    const scope = {
      env: { API_URL: "http://api.test", SERVICE_TOKEN: "a-service-token-of-at-least-32-characters" },
      room: "r",
      report: async (e: unknown) => reported.push(e),
    };
    const pending = askApi(scope, conn as unknown as Parameters<typeof askApi>[1], "req-1", "retry", {
      path: "/v1/internal/x",
      ok: [200, 201],
      schema: StoredMessageSchema,
    });
    return { pending, sent, reported };
  }

  it("hands on a reply that matches the route's schema", async () => {
    const { pending, sent } = call({ message });
    expect(await pending).toEqual({ status: 201, body: { message } });
    expect(sent).toEqual([]);
  });

  it("answers a malformed reply like an unreachable API, and reports it", async () => {
    const { pending, sent, reported } = call({ message: { ...message, id: "not-an-id" } });
    expect(await pending).toBeUndefined();
    expect(sent).toEqual([
      { type: "error", code: "dependency_unavailable", message: "retry", requestId: "req-1" },
    ]);
    expect(String(reported[0])).toContain("malformed API reply");
  });

  it("passes a 4xx problem's code on", async () => {
    const { pending, sent } = call({ code: "forbidden", title: "Forbidden", detail: "No." }, 403);
    expect(await pending).toBeUndefined();
    expect(sent).toEqual([{ type: "error", code: "forbidden", message: "No.", requestId: "req-1" }]);
  });
});
