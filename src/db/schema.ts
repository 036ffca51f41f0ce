import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Timestamps are stored as ISO 8601 UTC strings (sortable, readable in the sqld shell). */
/** The database's clock, as an ISO 8601 UTC string (column defaults and stamps that must order). */
export const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    emailVerifiedAt: text("email_verified_at"),
    passwordHash: text("password_hash"),
    name: text("name").notNull(),
    handle: text("handle").notNull(),
    role: text("role", { enum: ["user", "admin"] })
      .notNull()
      .default("user"),
    disabledAt: text("disabled_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("users_email_uq").on(t.email), uniqueIndex("users_handle_uq").on(t.handle)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /**
     * Hash of the current refresh token. Tokens form a chain: each successor is an HMAC of its
     * parent, and `generation` counts rotations, so an old token can be proven an ancestor
     * (reuse) by hashing forward, while only the current hash is stored.
     */
    refreshHash: text("refresh_hash").notNull(),
    generation: integer("generation").notNull().default(0),
    rotatedAt: text("rotated_at"),
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: text("created_at").notNull().default(now),
    lastUsedAt: text("last_used_at").notNull().default(now),
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (t) => [
    index("sessions_user_idx").on(t.userId),
    uniqueIndex("sessions_refresh_uq").on(t.refreshHash),
    index("sessions_revoked_idx").on(t.revokedAt),
  ],
);

/** One-time tokens sent by mail: email verification and password reset. Only hashes are stored. */
export const emailTokens = sqliteTable(
  "email_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: ["verify_email", "reset_password"] }).notNull(),
    tokenHash: text("token_hash").notNull(),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("email_tokens_hash_uq").on(t.tokenHash), index("email_tokens_user_idx").on(t.userId)],
);

/** Identities at OAuth/OIDC providers linked to a user. */
export const oauthAccounts = sqliteTable(
  "oauth_accounts",
  {
    provider: text("provider").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("oauth_accounts_pk").on(t.provider, t.subject),
    index("oauth_accounts_user_idx").on(t.userId),
  ],
);

/**
 * Short-lived OAuth state: `flow` rows hold the state + PKCE verifier between start and callback;
 * `code` rows hold the one-time exchange code handed to the app after the callback.
 */
export const oauthGrants = sqliteTable(
  "oauth_grants",
  {
    keyHash: text("key_hash").primaryKey(),
    kind: text("kind", { enum: ["flow", "code"] }).notNull(),
    provider: text("provider").notNull(),
    verifier: text("verifier"),
    nonce: text("nonce"),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("oauth_grants_expires_idx").on(t.expiresAt)],
);

export const orgs = sqliteTable(
  "orgs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("orgs_slug_uq").on(t.slug)],
);

export const ORG_ROLES = ["owner", "admin", "member", "guest"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export const memberships = sqliteTable(
  "memberships",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ORG_ROLES }).notNull(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("memberships_pk").on(t.orgId, t.userId), index("memberships_user_idx").on(t.userId)],
);

export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ORG_ROLES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: text("invited_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: text("expires_at").notNull(),
    acceptedAt: text("accepted_at"),
    acceptedBy: text("accepted_by").references(() => users.id, { onDelete: "set null" }),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("invitations_token_uq").on(t.tokenHash), index("invitations_org_idx").on(t.orgId)],
);

/** Who did what, when, from where. Append-only. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    at: text("at").notNull().default(now),
    action: text("action").notNull(),
    actorId: text("actor_id"),
    targetType: text("target_type"),
    targetId: text("target_id"),
    orgId: text("org_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_actor_idx").on(t.actorId)],
);

/** Development/test mail outbox (GET /dev/outbox). Never used in staging or production. */
export const devOutbox = sqliteTable("dev_outbox", {
  id: text("id").primaryKey(),
  to: text("to").notNull(),
  subject: text("subject").notNull(),
  text: text("text").notNull(),
  html: text("html").notNull(),
  token: text("token"),
  createdAt: text("created_at").notNull().default(now),
});

export const rooms = sqliteTable(
  "rooms",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    visibility: text("visibility", { enum: ["public", "private"] }).notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    /** The seq of the newest message: allocated in the same transaction as the insert, so seq has no gaps. */
    lastSeq: integer("last_seq").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("rooms_org_idx").on(t.orgId, t.id)],
);

/** Explicit room membership: private rooms, and guests in any room. */
export const roomMembers = sqliteTable(
  "room_members",
  {
    roomId: text("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    addedBy: text("added_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("room_members_pk").on(t.roomId, t.userId), index("room_members_user_idx").on(t.userId)],
);

/** Each reader's position per room (public-room readers need not be explicit members). */
export const roomReads = sqliteTable(
  "room_reads",
  {
    roomId: text("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    lastReadSeq: integer("last_read_seq").notNull().default(0),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("room_reads_pk").on(t.roomId, t.userId)],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    roomId: text("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    authorId: text("author_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    body: text("body").notNull(),
    attachments: text("attachments", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** Idempotency key, scoped to room + author. */
    clientId: text("client_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
    editedAt: text("edited_at"),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("messages_room_seq_uq").on(t.roomId, t.seq),
    uniqueIndex("messages_client_uq").on(t.roomId, t.authorId, t.clientId),
  ],
);

export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type", { enum: ["mention", "invitation", "webhook_disabled"] }).notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: text("created_at").notNull().default(now),
    readAt: text("read_at"),
  },
  (t) => [index("notifications_user_idx").on(t.userId, t.id)],
);

/**
 * Uploaded files. The object key is generated (`<orgId>/<id>`), never derived from the filename,
 * which is metadata only. `pending` rows reserve quota until completed, or until the scheduled
 * cleanup removes them after `expiresAt`. A deleted room leaves its files to the uploader and
 * org admins (room_id set null) so their objects can still be deleted.
 */
export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    roomId: text("room_id").references(() => rooms.id, { onDelete: "set null" }),
    uploaderId: text("uploader_id").references(() => users.id, { onDelete: "set null" }),
    objectKey: text("object_key").notNull(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    /** Declared at creation; `complete` checks the stored object against it. */
    size: integer("size").notNull(),
    status: text("status", { enum: ["pending", "ready"] })
      .notNull()
      .default("pending"),
    /** Pending rows only: after this the upload is abandoned and cleaned up. */
    expiresAt: text("expires_at"),
    createdAt: text("created_at").notNull().default(now),
    completedAt: text("completed_at"),
  },
  (t) => [
    uniqueIndex("files_object_key_uq").on(t.objectKey),
    index("files_uploader_idx").on(t.uploaderId, t.status),
    index("files_pending_idx").on(t.status, t.expiresAt),
    index("files_org_idx").on(t.orgId, t.roomId),
  ],
);

/**
 * Webhook endpoints of an org (src/services/webhooks/). The signing secret is stored only
 * AES-GCM-encrypted under a key derived from SERVER_SECRET; after a rotation the previous one
 * keeps signing beside it until `previousSecretUntil`.
 */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    /** The event types it subscribes to (JSON array of strings). */
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    secretEnc: text("secret_enc").notNull(),
    previousSecretEnc: text("previous_secret_enc"),
    previousSecretUntil: text("previous_secret_until"),
    /** Failed attempts in a row, and when the first of them happened (the disable rule). */
    failureStreak: integer("failure_streak").notNull().default(0),
    failingSince: text("failing_since"),
    disabledAt: text("disabled_at"),
    disabledReason: text("disabled_reason"),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("webhook_endpoints_org_idx").on(t.orgId, t.id)],
);

/**
 * The transactional outbox: one row per event, written in the same batch as the change it
 * describes. `payload` is the exact JSON body sent, built inside that transaction (a snapshot).
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("webhook_events_org_idx").on(t.orgId, t.id)],
);

/** One event × one endpoint. `enqueuedAt` null: not yet handed to the queue (the cron sweep's work). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id")
      .notNull()
      .references(() => webhookEvents.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["pending", "succeeded", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    enqueuedAt: text("enqueued_at"),
    /** A consumer holds the delivery until then, so two copies of a queue message never send at once. */
    claimedUntil: text("claimed_until"),
    lastAttemptAt: text("last_attempt_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id),
    index("webhook_deliveries_sweep_idx").on(t.status, t.enqueuedAt),
  ],
);

/** Every attempt of a delivery: HTTP status (null: no answer), latency and error. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    at: text("at").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);
