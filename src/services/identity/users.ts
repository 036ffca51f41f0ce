import { eq } from "drizzle-orm";
import type { ServiceContext } from "../../context/service-context.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { users } from "../../db/schema.ts";
import { ApiError } from "../../lib/errors.ts";

export type UserRow = typeof users.$inferSelect;

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  handle: string;
  role: "user" | "admin";
  emailVerified: boolean;
  createdAt: string;
}

export function toPublicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    handle: u.handle,
    role: u.role,
    emailVerified: u.emailVerifiedAt !== null,
    createdAt: u.createdAt,
  };
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** A handle from a display name: lower-case [a-z0-9_], 3..30 characters. */
export function handleFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 24);
  return base.length >= 3 ? base : `user_${base}`.slice(0, 24);
}

export async function getUser(ctx: ServiceContext, id: string): Promise<UserRow> {
  const [u] = await ctx.db.select().from(users).where(eq(users.id, id));
  if (!u || u.disabledAt) throw new ApiError("not_found", "No such user.");
  return u;
}

/** Map libSQL unique-constraint failures to a 409 naming the field. */
export function conflictFrom(err: unknown): ApiError | undefined {
  if (!isUniqueViolation(err)) return undefined;
  if (isUniqueViolation(err, "users.email"))
    return new ApiError("conflict", "An account with this email already exists.", {
      errors: [{ path: "email", message: "already taken" }],
    });
  if (isUniqueViolation(err, "users.handle"))
    return new ApiError("conflict", "This handle is already taken.", {
      errors: [{ path: "handle", message: "already taken" }],
    });
  if (isUniqueViolation(err, "orgs.slug"))
    return new ApiError("conflict", "This slug is already taken.", {
      errors: [{ path: "slug", message: "already taken" }],
    });
  return new ApiError("conflict", "The resource already exists.");
}
