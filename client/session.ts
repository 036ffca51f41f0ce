/**
 * A signed-in session, for browsers and for Node alike.
 * - `mode: "cookie"` (browsers): the access token lives only in memory; the refresh token only in
 *   the HttpOnly cookie the API sets in the cookie flow (`X-Auth-Mode: cookie`), so script never
 *   sees it. A reload (or an expired access token) refreshes through that cookie.
 * - `mode: "token"` (Node, React Native): the refresh token comes back in the body and is kept in
 *   memory (or handed to `onRefreshToken` to keep it somewhere safe).
 * When a refresh fails, the session is over and the `onEnd` listeners hear `expired`.
 */
import { type AuthResponse, type Client, createClient, ok, problemOf, type User } from "./api.ts";

type Listener = (reason: "expired" | "logout") => void;

const COOKIE_MODE = { "x-auth-mode": "cookie" };

export interface SessionOptions {
  mode?: "cookie" | "token";
  /** The fetch used for every call (default: the global one). */
  fetch?: typeof fetch;
  /** Token mode: a refresh token kept from an earlier run. */
  refreshToken?: string;
  /** Token mode: called with every new refresh token (they rotate on each use). */
  onRefreshToken?: (token: string | null) => void;
}

export class Session {
  readonly api: Client;
  /** Like fetch, with the bearer token and one refresh-and-retry on a 401; for the realtime helper too. */
  readonly fetch: typeof fetch;
  user: User | null = null;
  private token: string | null = null;
  private refreshToken: string | null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  readonly baseUrl: string;
  readonly mode: "cookie" | "token";
  private readonly rawFetch: typeof fetch;
  private readonly opts: SessionOptions;

  constructor(baseUrl: string, opts: SessionOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.opts = opts;
    this.mode = opts.mode ?? "cookie";
    this.refreshToken = opts.refreshToken ?? null;
    this.rawFetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.fetch = (input, init) => this.authorizedFetch(input, init);
    this.api = createClient(this.baseUrl, this.fetch);
  }

  get signedIn(): boolean {
    return this.token !== null;
  }

  accessToken = (): string => this.token ?? "";

  onEnd(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Restore a session from the refresh cookie (page load) or the kept refresh token; false when there is none. */
  resume(): Promise<boolean> {
    return this.refresh();
  }

  async login(email: string, password: string) {
    this.accept(await ok(this.api.v1.auth.login.$post({ json: { email, password } }, this.authMode())));
  }

  async register(input: { email: string; password: string; name: string; handle?: string }) {
    this.accept(await ok(this.api.v1.auth.register.$post({ json: input }, this.authMode())));
  }

  async exchangeOAuthCode(code: string) {
    this.accept(await ok(this.api.v1.auth.oauth.exchange.$post({ json: { code } }, this.authMode())));
  }

  async logout() {
    await this.api.v1.auth.logout.$post().catch(() => undefined);
    this.end("logout");
  }

  private authMode() {
    return this.mode === "cookie" ? { headers: COOKIE_MODE } : {};
  }

  private accept(res: AuthResponse) {
    this.token = res.accessToken;
    this.user = res.user;
    if (this.mode === "token" && res.refreshToken) {
      this.refreshToken = res.refreshToken;
      this.opts.onRefreshToken?.(res.refreshToken);
    }
  }

  private end(reason: "expired" | "logout") {
    const wasSignedIn = this.token !== null;
    this.token = null;
    this.user = null;
    if (this.mode === "token") {
      this.refreshToken = null;
      this.opts.onRefreshToken?.(null);
    }
    if (wasSignedIn || reason === "logout") for (const l of this.listeners) l(reason);
  }

  /** One refresh at a time; every caller waiting on a 401 shares it. */
  private refresh(): Promise<boolean> {
    if (this.mode === "token" && !this.refreshToken) return Promise.resolve(false);
    this.refreshing ??= (async () => {
      try {
        const res = await this.rawFetch(`${this.baseUrl}/v1/auth/refresh`, {
          method: "POST",
          ...(this.mode === "cookie"
            ? { headers: COOKIE_MODE, credentials: "same-origin" as const }
            : {
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ refreshToken: this.refreshToken }),
              }),
        });
        if (!res.ok) {
          await res.body?.cancel();
          return false;
        }
        this.accept((await res.json()) as AuthResponse);
        return true;
      } catch {
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async authorizedFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const send = () => {
      const headers = new Headers(init.headers);
      if (this.token) headers.set("authorization", `Bearer ${this.token}`);
      return this.rawFetch(input, { ...init, headers });
    };
    const res = await send();
    if (res.status !== 401) return res;
    const problem = await problemOf(res.clone());
    if (problem.code !== "unauthorized" && problem.code !== "token_expired") return res;
    if (await this.refresh()) return send();
    this.end("expired");
    return res;
  }
}
