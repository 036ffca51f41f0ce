import { z } from "@hono/zod-openapi";
import { caller, svc } from "../../http/context.ts";
import { createRouter, errorResponses, pageOf, route } from "../../http/openapi.ts";
import { IdSchema } from "../../lib/ids.ts";
import { PageQuerySchema } from "../../lib/pagination.ts";
import { requireAuth } from "../../middleware/authenticate.ts";
import { apiLimit } from "../../middleware/rate-limit.ts";
import * as notificationsService from "../../services/notifications/notifications.ts";
import { NotificationSchema } from "../../shared/notification.schema.ts";

const tags = ["Notifications"];
const security = [{ bearerAuth: [] }];
const middleware = [requireAuth()];

const list = route({
  method: "get",
  path: "/",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "My notifications, newest first",
  request: { query: PageQuerySchema.extend({ unread: z.enum(["true", "false"]).optional() }) },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageOf(NotificationSchema, "NotificationPage") } },
    },
    ...errorResponses(400, 401),
  },
});
const read = route({
  method: "post",
  path: "/{notificationId}/read",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Mark one as read",
  request: { params: z.object({ notificationId: IdSchema }) },
  responses: { 204: { description: "Read" }, ...errorResponses(400, 401, 404) },
});
const readAll = route({
  method: "post",
  path: "/read-all",
  tags,
  security,
  middleware: [apiLimit, ...middleware],
  summary: "Mark all as read",
  responses: { 204: { description: "Read" }, ...errorResponses(401) },
});

export const notificationRoutes = createRouter()
  .openapi(list, async (c) => {
    const { unread, limit = 50, cursor } = c.req.valid("query");
    return c.json(
      await notificationsService.listNotifications(svc(c), caller(c).userId, {
        unread: unread === "true",
        limit,
        cursor,
      }),
      200,
    );
  })
  .openapi(readAll, async (c) => {
    await notificationsService.markAllRead(svc(c), caller(c).userId);
    return c.body(null, 204);
  })
  .openapi(read, async (c) => {
    await notificationsService.markNotificationRead(
      svc(c),
      caller(c).userId,
      c.req.valid("param").notificationId,
    );
    return c.body(null, 204);
  });
