import { ORG_ROLES, type OrgRole } from "../../db/schema.ts";

export { ORG_ROLES, type OrgRole };

/** Org roles, highest first: owner > admin > member > guest. */
export const roleRank: Readonly<Record<OrgRole, number>> = { owner: 3, admin: 2, member: 1, guest: 0 };

/**
 * THE permission table: every org-scoped action and the lowest org role allowed to do it.
 * Roles are ordered, so "at least X" is the whole rule; anything finer (whose role, whose
 * message) is a relation checked by the service that owns the resource, next to the data.
 * Features add their actions here, and tests/rbac-matrix.test.ts checks every role × action.
 */
export const PERMISSIONS = {
  "org.read": "guest",
  "org.update": "admin",
  "org.delete": "owner",
  /** Guests are outsiders added to a few rooms: they do not get the member directory. */
  "members.read": "member",
  /** Email addresses in the member list: only for those who manage members and invitations. */
  "members.read_email": "admin",
  "members.update_role": "admin",
  "members.remove": "admin",
  /** Leaving (DELETE of one's own membership): everyone, subject to the last-owner rule. */
  "members.leave": "guest",
  "invitations.create": "admin",
  "invitations.read": "admin",
  "invitations.revoke": "admin",
  "rooms.create": "member",
  /** Public rooms of the org; guests see only the rooms they were added to (a room-level check). */
  "rooms.read_public": "member",
  /** Edit or delete any room of the org, add or remove anyone in any room. */
  "rooms.manage": "admin",
  "messages.moderate": "admin",
  "files.moderate": "admin",
  /** Webhook endpoints, their secrets and deliveries (src/services/webhooks/). */
  "webhooks.manage": "admin",
} as const satisfies Record<string, OrgRole>;

export type OrgAction = keyof typeof PERMISSIONS;
export const ORG_ACTIONS = Object.keys(PERMISSIONS) as OrgAction[];

export function isOrgAction(value: string): value is OrgAction {
  return Object.hasOwn(PERMISSIONS, value);
}

/** May a member with `role` do `action`? Unknown actions are refused (fail closed). */
export function can(role: OrgRole, action: OrgAction): boolean {
  const min: OrgRole | undefined = PERMISSIONS[action];
  return min !== undefined && roleRank[role] >= roleRank[min];
}

/** Nobody grants a role above their own (in role changes and invitations alike). */
export function canGrant(actorRole: OrgRole, targetRole: OrgRole): boolean {
  return roleRank[targetRole] <= roleRank[actorRole];
}

/**
 * May `actorRole` change the role of, or remove, another member holding `targetRole`?
 * Owners manage everyone, other owners included (the last-owner rule still holds);
 * everyone else manages only roles strictly below their own, so an admin manages members and
 * guests but not other admins.
 */
export function canManage(actorRole: OrgRole, targetRole: OrgRole): boolean {
  return actorRole === "owner" || roleRank[actorRole] > roleRank[targetRole];
}
