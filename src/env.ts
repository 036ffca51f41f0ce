import type { Config } from "./config.ts";
import type { Services } from "./context/container.ts";
import type { ServiceContext } from "./context/service-context.ts";
import type { OrgRole } from "./db/schema.ts";
import type { ErrorCode } from "./lib/errors.ts";
import type { Logger } from "./lib/log.ts";
import type { RequestSentry } from "./lib/sentry.ts";
import type { MessageRow } from "./services/rooms/messages.ts";
import type { RoomGrant } from "./services/rooms/room-grant.ts";
import type { RoomAccess } from "./services/rooms/rooms.ts";

/**
 * Bindings as `wrangler types` generates them (src/worker-configuration.d.ts, `npm run cf-typegen`).
 * String vars and secrets are read through `getConfig`, which validates them.
 */
export type Bindings = Cloudflare.Env;

export interface AuthContext {
  userId: string;
  sessionId: string;
  role: "user" | "admin";
}

export interface Variables {
  requestId: string;
  config: Config;
  log: Logger;
  /** Built lazily: the Toucan client exists only once something is reported. */
  sentry: RequestSentry | undefined;
  services: Services;
  /** What services take: built once per request by requestContext(), read through svc(c). */
  ctx: ServiceContext;
  auth: AuthContext | null;
  /** The room of the path as the caller may see it, set by requireRoomAccess(). */
  roomAccess?: RoomAccess;
  /** The same without the room's lastSeq, from the read cache, set by requireRoomGrant(). */
  roomGrant?: RoomGrant;
  /** The message of the path, set by requireRoomAccess("messageId"). */
  message?: MessageRow;
  /** The caller's membership in the org of the path, set by requireOrgPermission(). */
  membership?: { orgId: string; role: OrgRole };
  /** Why `auth` is null when a credential was presented. */
  authError?: ErrorCode;
  /** Set by cached routes for the request log: HIT | MISS | BYPASS. */
  cacheStatus?: string;
}

export type AppEnv = { Bindings: Bindings; Variables: Variables };
