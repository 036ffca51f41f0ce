import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { getDatabase } from "../src/db/client.ts";
import worker from "../src/index.ts";
import { api, BASE, jsonBody } from "./helpers/api.ts";
import { type FuzzRequest, type FuzzWorld, malformed, operationsOf } from "./helpers/fuzz.ts";
import { addMember, authed, createOrg } from "./helpers/orgs.ts";
import { createRoom } from "./helpers/realtime.ts";
import { diff, type RowScope, scopedTables, scopeQueries, snapshot } from "./helpers/scoped-rows.ts";
import { bearer, login, registerUser } from "./helpers/users.ts";

/**
 * Property-based fuzzing of every documented route (GET /openapi.json), with real services.
 * Each run sends one malformed request per operation; requests go out in small concurrent
 * chunks, and the rows of the fuzz fixture's scope are compared before and after each chunk.
 * `npm run fuzz` raises the count (VITEST_FUZZ_REQUESTS) and can fix the seed (VITEST_FUZZ_SEED).
 */
const MIN_REQUESTS = inject("fuzzRequests") ?? 2000;
const SEED = inject("fuzzSeed");
const CHUNK = 8;
const bindings = env as unknown as Record<string, string>;

async function fuzzWorld(runId: string) {
  const owner = await registerUser();
  const member = await registerUser();
  const org = await createOrg(owner, { name: `Fuzz ${runId}` });
  await addMember(org.id, member, "member");
  const room = await createRoom(owner, org.id, "public", "fuzz");
  const posted = await api(
    `/v1/rooms/${room.id}/messages`,
    jsonBody({ body: "fuzz fixture", clientId: crypto.randomUUID() }, bearer(owner.accessToken)),
  );
  const invited = await api(
    `/v1/orgs/${org.id}/invitations`,
    authed(owner.accessToken, "POST", { email: `invitee-${runId}@fuzz.invalid`, role: "member" }),
  );
  await login(owner.email); // a second session, so sessionId points at a real one
  const sessions = (await (await api("/v1/me/sessions", bearer(owner.accessToken))).json()) as {
    items: Array<{ id: string }>;
  };
  const world: FuzzWorld = {
    ids: {
      orgId: org.id,
      roomId: room.id,
      messageId: ((await posted.json()) as { id: string }).id,
      userId: member.id,
      invitationId: ((await invited.json()) as { id: string }).id,
      sessionId: sessions.items.at(-1)!.id,
      provider: "oidc",
    },
    bearer: owner.accessToken,
    serviceToken: bindings.SERVICE_TOKEN!,
    // The route's documented limit (route() in src/http/openapi.ts), capped by MAX_BODY_BYTES.
    bodyLimit: (op) =>
      Math.min(op.bodyLimit ?? Number.POSITIVE_INFINITY, Number(bindings.MAX_BODY_BYTES ?? 65536)),
  };
  const scope: RowScope = {
    userIds: [owner.id, member.id],
    orgId: org.id,
    ipPrefix: "198.18.",
    emailSuffix: "@fuzz.invalid",
    requestIdPrefix: `fuzz-${runId}`,
  };
  return { world, scope };
}

interface Sent {
  req: FuzzRequest;
  requestId: string;
  status: number;
  contentType: string | null;
  echoedId: string | null;
  text: string;
}

/** In process, waiting for work the request deferred (mail, publishing), so its writes are done. */
async function send(req: FuzzRequest, requestId: string): Promise<Sent> {
  let body: BodyInit | undefined = req.method === "GET" || req.method === "HEAD" ? undefined : req.body;
  if (req.chunked && typeof body === "string") {
    const bytes = new TextEncoder().encode(body);
    body = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, 1024));
        controller.enqueue(bytes.slice(1024));
        controller.close();
      },
    });
  }
  const request = new Request(`${BASE}${req.path}`, {
    method: req.method,
    headers: { ...req.headers, "x-request-id": requestId },
    body,
  }) as Parameters<typeof worker.fetch>[0];
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return {
    req,
    requestId,
    status: res.status,
    contentType: res.headers.get("content-type"),
    echoedId: res.headers.get("x-request-id"),
    text,
  };
}

const describeRequest = (s: Sent) =>
  `${s.req.kind} → ${s.req.method} ${s.req.path.slice(0, 200)} [${s.requestId}] answered ${s.status}: ${s.text.slice(0, 300)}\n` +
  `  headers: ${JSON.stringify(s.req.headers).slice(0, 300)}\n  body: ${typeof s.req.body === "string" ? s.req.body.slice(0, 300) : s.req.body ? "(bytes)" : "(none)"}`;

function checkResponse(s: Sent) {
  if (s.status >= 500) throw new Error(`5xx:\n${describeRequest(s)}`);
  // Every mutation can never be valid: a success (or a redirect) is a hole, not a statistic.
  if (s.status < 400) throw new Error(`a malformed request was accepted:\n${describeRequest(s)}`);
  let problem: { code?: unknown; requestId?: unknown } = {};
  try {
    problem = JSON.parse(s.text);
  } catch {
    // asserted below
  }
  if (s.contentType !== "application/problem+json" || typeof problem.code !== "string")
    throw new Error(`not a problem document:\n${describeRequest(s)}`);
  if (problem.requestId !== s.echoedId)
    throw new Error(`requestId differs from the header:\n${describeRequest(s)}`);
  if (/SQLITE|LibsqlError|\bat \S+\.(ts|js):\d+|stack/i.test(s.text))
    throw new Error(`internal detail leaked:\n${describeRequest(s)}`);
}

describe("fuzz: malformed requests on every documented route", () => {
  it(
    `${MIN_REQUESTS}+ requests: never a 5xx, always problem+json with a code, no row written by a 4xx`,
    async () => {
      const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      const doc = await (await api("/openapi.json")).json();
      const ops = operationsOf(doc as Parameters<typeof operationsOf>[0]);
      expect(ops.length).toBeGreaterThan(40);
      const { world, scope } = await fuzzWorld(runId);
      const { client } = getDatabase(inject("sqldUrl"), undefined, 5000);
      const { queries, unscoped } = scopeQueries(await scopedTables(client), scope);
      expect(queries.map((q) => q.table)).toEqual(
        expect.arrayContaining(["users", "orgs", "messages", "audit_log"]),
      );

      const perOp = new Map<string, number>();
      const statuses = new Map<number, number>();
      let sent = 0;
      let checkedChunks = 0;
      const runs = Math.ceil(MIN_REQUESTS / ops.length);
      await fc.assert(
        fc.asyncProperty(fc.tuple(...ops.map((op) => malformed(op, world))), async (requests) => {
          for (let i = 0; i < requests.length; i += CHUNK) {
            const chunk = requests.slice(i, i + CHUNK);
            const before = await snapshot(client, queries);
            const results = await Promise.all(
              chunk.map((r) => send(r, `${scope.requestIdPrefix}-${sent++}`)),
            );
            const after = await snapshot(client, queries);
            for (const r of results) {
              perOp.set(r.req.op, (perOp.get(r.req.op) ?? 0) + 1);
              statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
              checkResponse(r);
            }
            // Every request was refused, so every chunk is checked: no row written by any of them.
            const changed = diff(before, after);
            if (changed.length)
              throw new Error(
                `rows written by refused requests:\n${changed.join("\n")}\n${results.map(describeRequest).join("\n")}`,
              );
            checkedChunks++;
          }
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );

      expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
      for (const op of ops) expect(perOp.get(op.id), op.id).toBe(runs);
      expect(checkedChunks).toBe(runs * Math.ceil(ops.length / CHUNK));
      // No prototype was polluted by any "__proto__" / "constructor" body.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
      // Refusals are never reported to Sentry.
      const envelopes = await fetch(`${inject("sentryUrl")}/envelopes?contains=${scope.requestIdPrefix}`);
      expect(await envelopes.json()).toEqual([]);
      console.info(
        `fuzz: ${sent} requests over ${ops.length} operations (${runs} each), statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
          `tables without a scope: ${unscoped.join(", ") || "none"}`,
      );
    },
    Math.max(180_000, MIN_REQUESTS * 60),
  );
});
