import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, jsonResponse, route } from "../../http/openapi.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import { issueTicket } from "../../services/realtime/realtime-tickets.ts";
import { ChannelSchema } from "../../shared/realtime.ts";

const TicketSchema = z
  .object({
    url: z.string().openapi({ description: "Complete WebSocket URL, ticket included" }),
    host: z.string(),
    party: z.string(),
    room: z.string(),
    ticket: z.string(),
    expiresAt: z.string(),
  })
  .openapi("RealtimeTicket");

const ticket = route({
  method: "post",
  path: "/tickets",
  tags: ["Realtime"],
  security: [{ bearerAuth: [] }],
  middleware: [apiLimit, requireAuth()],
  summary: "A short-lived ticket for one realtime channel",
  description: [
    "`room:<roomId>` (a room you can see) or `user` (your notifications). Valid ≤ 60 s, for that channel only. Pass it to partysocket as `query: {ticket}` with `host`, `party`, `room`, or open `url` directly.",
    "Error frames: `error {code, message, requestId?, clientId?, retryAfter?}`; one that answers a `message` frame carries its `clientId`, a `rate_limited` one `retryAfter` (seconds). Socket messages count against the same per-user budget as REST.",
    "Close codes: 1008 too many frames or session revoked; 1009 frame over 16 KiB; 4000 access revoked or lost (fetch a new ticket; a 404 there means stop); 4002 too many sockets for this user in this room (back off); 4003 room deleted.",
  ].join("\n\n"),
  request: {
    body: {
      content: {
        "application/json": { schema: z.object({ channel: ChannelSchema }).strict().openapi("TicketBody") },
      },
      required: true,
    },
  },
  responses: {
    200: jsonResponse("Ticket", TicketSchema),
    ...errorResponses(400, 401, 404),
  },
});

export const realtimeRoutes = createRouter().openapi(ticket, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await issueTicket(svc(c), caller(c), c.req.valid("json").channel), 200);
});
