/**
 * The `data` of each event as a SQL expression over the rows themselves, so the outbox row is
 * built inside the change's transaction: what was committed is what is sent. The shapes are
 * the API's own (Message, Room without the per-reader `unreadCount`, a member without email,
 * a file without its short-lived download URL); see WebhookEventSchema in the routes.
 */
import { type SQL, sql } from "drizzle-orm";

const message = (id: string) => sql`(select json_object('id', m.id, 'roomId', m.room_id, 'seq', m.seq,
  'authorId', m.author_id, 'body', m.body, 'attachments', json(m.attachments), 'clientId', m.client_id,
  'createdAt', m.created_at, 'editedAt', m.edited_at, 'deletedAt', m.deleted_at)
  from messages m where m.id = ${id})`;

const room = (id: string) => sql`(select json_object('id', r.id, 'orgId', r.org_id, 'name', r.name,
  'visibility', r.visibility, 'createdBy', r.created_by, 'createdAt', r.created_at,
  'updatedAt', r.updated_at, 'lastSeq', r.last_seq) from rooms r where r.id = ${id})`;

const member = (orgId: string, userId: string) => sql`(select json_object('userId', ms.user_id,
  'name', u.name, 'handle', u.handle, 'role', ms.role, 'joinedAt', ms.created_at)
  from memberships ms join users u on u.id = ms.user_id
  where ms.org_id = ${orgId} and ms.user_id = ${userId})`;

const file = (id: string) => sql`(select json_object('id', f.id, 'orgId', f.org_id, 'roomId', f.room_id,
  'uploaderId', f.uploader_id, 'filename', f.filename, 'contentType', f.content_type, 'size', f.size,
  'status', f.status, 'createdAt', f.created_at, 'completedAt', f.completed_at)
  from files f where f.id = ${id})`;

const wrap = (key: string, inner: SQL, extra: SQL = sql``) =>
  sql`json_object(${key}, json(${inner})${extra})`;

export const payload = {
  message: (messageId: string) => wrap("message", message(messageId)),
  room: (roomId: string) => wrap("room", room(roomId)),
  member: (orgId: string, userId: string) => wrap("member", member(orgId, userId)),
  roleChanged: (orgId: string, userId: string, previousRole: string) =>
    wrap("member", member(orgId, userId), sql`, 'previousRole', ${previousRole}`),
  file: (fileId: string) => wrap("file", file(fileId)),
  test: (endpointId: string) =>
    sql`json_object('endpointId', ${endpointId}, 'message', 'This is a test event from Petrel.')`,
};
