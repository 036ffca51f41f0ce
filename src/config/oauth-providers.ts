import { z } from "zod";
import { fromJson } from "./settings.ts";

/**
 * OAUTH_PROVIDERS: a JSON array of providers (see src/adapters/oauth-providers.ts for how each
 * type is used), parsed into a map by id. Unset or blank: no providers.
 */
const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;
const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be 1-32 characters of a-z, 0-9, _ and -"),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a scope token"))
    .min(1)
    .optional(),
  /** Timeout of each call to the provider, in milliseconds. */
  timeoutMs: z.number().int().min(50).max(30_000).default(5000),
};
const ProviderConfigSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("oidc"),
      issuer: z
        .url()
        .refine((u) => u.startsWith("https://") || loopback.test(u), "must be https (http only on loopback)"),
      ...common,
    })
    .strict(),
  z.object({ type: z.literal("github"), ...common }).strict(),
  z.object({ type: z.literal("google"), ...common }).strict(),
]);
const ProvidersSchema = z
  .array(ProviderConfigSchema)
  .refine((ps) => new Set(ps.map((p) => p.id)).size === ps.length, "provider ids must be unique");

export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;

export const OAuthProvidersSchema = z
  .string()
  .optional()
  .transform((s) => s?.trim() || "[]")
  .transform(fromJson("must be a JSON array of providers"))
  .pipe(ProvidersSchema)
  .transform((ps): ReadonlyMap<string, ProviderConfig> => new Map(ps.map((p) => [p.id, p])));
