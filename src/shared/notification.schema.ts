/**
 * A notification, the one definition every side uses: the REST routes, the service
 * (`toNotification`), the user party's `notification` frame and the browser client.
 * Plain `zod`, no Hono: the party servers and the browser bundle this module too. The zod
 * metadata `id` names the OpenAPI component (like `.openapi("Notification")`).
 */
import { z } from "zod";
import { IdSchema } from "../lib/ids.ts";

export const NotificationSchema = z
  .object({
    id: IdSchema,
    type: z.enum(["mention", "invitation", "webhook_disabled"]),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    readAt: z.string().nullable(),
  })
  .meta({ id: "Notification" });
export type Notification = z.output<typeof NotificationSchema>;
