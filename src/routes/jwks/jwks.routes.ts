import { z } from "@hono/zod-openapi";
import { createRouter, jsonResponse, route } from "../../http/openapi.ts";
import { keyRing } from "../../services/identity/tokens.ts";

const JwksSchema = z
  .object({
    keys: z.array(
      z
        .object({
          kty: z.string(),
          crv: z.string(),
          x: z.string(),
          kid: z.string(),
          alg: z.string(),
          use: z.string(),
        })
        .passthrough(),
    ),
  })
  .openapi("JWKS");

const jwks = route({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["Auth"],
  summary: "Public keys that verify access tokens",
  description: "Several keys may be live at once (rotation). Cacheable.",
  responses: { 200: jsonResponse("JWK Set", JwksSchema) },
});

export const jwksRoutes = createRouter().openapi(jwks, async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json((await keyRing(c.var.config)).jwks as z.infer<typeof JwksSchema>, 200);
});
