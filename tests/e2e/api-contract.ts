/**
 * Compile-time check (tsc only, nothing runs): the web client's explicit route types
 * (client/api.ts) agree with the Worker's own `App` type. The client cannot import `App`
 * itself: its DOM-typed program would then type-check the Worker's sources against the DOM
 * instead of workers-types. Here, in the Worker's program, both meet.
 */
import type { hc, InferRequestType, InferResponseType } from "hono/client";
import type { Client } from "../../client/api.ts";
import type { App } from "../../src/app.ts";

type Server = ReturnType<typeof hc<App>>;
/**
 * What the server answers must be what the client expects; what the client sends, what the server
 * takes. A response the server's types leave open (`{}`: the auth routes answer through a helper)
 * cannot be compared; its request still is.
 */
type Agrees<S, C> = [InferRequestType<C>] extends [InferRequestType<S>]
  ? // biome-ignore lint/complexity/noBannedTypes: `{}` is exactly what an untyped response infers to
    {} extends InferResponseType<S, 200 | 201>
    ? true
    : [InferResponseType<S, 200 | 201>] extends [InferResponseType<C, 200 | 201>]
      ? true
      : "response differs"
  : "request differs";

type Auth = Server["v1"]["auth"];
type Mine = Client["v1"];
export const contract: [
  Agrees<Auth["register"]["$post"], Mine["auth"]["register"]["$post"]>,
  Agrees<Auth["login"]["$post"], Mine["auth"]["login"]["$post"]>,
  Agrees<Server["v1"]["orgs"]["$get"], Mine["orgs"]["$get"]>,
  Agrees<Server["v1"]["orgs"]["$post"], Mine["orgs"]["$post"]>,
  Agrees<Server["v1"]["orgs"][":orgId"]["members"]["$get"], Mine["orgs"][":orgId"]["members"]["$get"]>,
  Agrees<
    Server["v1"]["orgs"][":orgId"]["invitations"]["$post"],
    Mine["orgs"][":orgId"]["invitations"]["$post"]
  >,
  Agrees<
    Server["v1"]["invitations"][":token"]["accept"]["$post"],
    Mine["invitations"][":token"]["accept"]["$post"]
  >,
  Agrees<Server["v1"]["orgs"][":orgId"]["rooms"]["$get"], Mine["orgs"][":orgId"]["rooms"]["$get"]>,
  Agrees<Server["v1"]["orgs"][":orgId"]["rooms"]["$post"], Mine["orgs"][":orgId"]["rooms"]["$post"]>,
  Agrees<Server["v1"]["rooms"][":roomId"]["$get"], Mine["rooms"][":roomId"]["$get"]>,
  Agrees<Server["v1"]["rooms"][":roomId"]["messages"]["$get"], Mine["rooms"][":roomId"]["messages"]["$get"]>,
  Agrees<Server["v1"]["messages"][":messageId"]["$patch"], Mine["messages"][":messageId"]["$patch"]>,
  Agrees<Server["v1"]["notifications"]["$get"], Mine["notifications"]["$get"]>,
  Agrees<Server["v1"]["files"]["$post"], Mine["files"]["$post"]>,
  Agrees<Server["v1"]["files"][":fileId"]["$get"], Mine["files"][":fileId"]["$get"]>,
  Agrees<
    Server["v1"]["files"][":fileId"]["complete"]["$post"],
    Mine["files"][":fileId"]["complete"]["$post"]
  >,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
