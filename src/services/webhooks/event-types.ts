/** The events an endpoint may subscribe to (README "Webhooks" lists what each carries). */
export const WEBHOOK_EVENT_TYPES = [
  "message.created",
  "message.updated",
  "message.deleted",
  "room.created",
  "room.deleted",
  "member.added",
  "member.removed",
  "member.role_changed",
  "file.ready",
  "file.deleted",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent only by POST …/webhooks/:id/test, to that endpoint, whatever it subscribes to. */
export const TEST_EVENT = "webhook.test";

/** Failed attempts in a row, over more than this long, disable an endpoint. */
export const DISABLE_AFTER_FAILURES = 5;
export const DISABLE_AFTER_MS = 3600_000;
/** After a rotation, the previous secret keeps signing this long. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;
