/**
 * A chat message, the one definition every side uses: the REST routes, the services
 * (`toMessage`), the realtime frames and pushes (src/shared/realtime.ts) and the clients.
 * Plain `zod`, no Hono: the party servers and the browser bundle this module too. The OpenAPI
 * generator reads zod metadata: `id` names the component (like `.openapi("Message")`).
 */
import { z } from "zod";
import { IdSchema } from "../lib/ids.ts";

export const MessageSchema = z
  .object({
    id: IdSchema,
    roomId: IdSchema,
    seq: z.number().int().min(1).meta({ description: "Increases by one per room, no gaps" }),
    authorId: IdSchema,
    body: z.string().meta({ description: "Empty on a tombstone" }),
    attachments: z.array(IdSchema),
    clientId: z.string(),
    createdAt: z.string(),
    editedAt: z.string().nullable(),
    deletedAt: z.string().nullable(),
  })
  .meta({ id: "Message" });
export type Message = z.output<typeof MessageSchema>;

/** A page of history (REST, and the internal route the chat party's `sync` calls). */
export const MessageHistorySchema = z
  .object({ items: z.array(MessageSchema), hasMore: z.boolean() })
  .meta({ id: "MessageHistory" });
export type MessageHistory = z.output<typeof MessageHistorySchema>;
