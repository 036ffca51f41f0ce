import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Timestamps are stored as ISO 8601 UTC strings (sortable, readable in the sqld shell). */
const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

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
    /** Hash of the current refresh token. */
    refreshHash: text("refresh_hash").notNull(),
    /** Hash of the previous refresh token, accepted only inside the grace window after rotation. */
    previousHash: text("previous_hash"),
    rotatedAt: text("rotated_at"),
    generation: integer("generation").notNull().default(0),
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
    index("sessions_previous_idx").on(t.previousHash),
  ],
);
