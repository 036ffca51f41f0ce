/**
 * The signed-in session. The access token lives only in memory; the refresh token only in the
 * HttpOnly cookie the API sets in the cookie flow (`X-Auth-Mode: cookie`), so script never sees it.
 * A reload (or an expired access token) refreshes through that cookie; when the refresh fails, the
 * session is over and `onExpired` sends the user back to the login screen.
 */
import { type AuthResponse, type Client, createClient, ok, problemOf, type User } from "./api.ts";

type Listener = (reason: "expired" | "logout") => void;

const COOKIE_MODE = { "x-auth-mode": "cookie" };

export class Session {
  readonly api: Client;
  /** Like fetch, with the bearer token and one refresh-and-retry on a 401; for the realtime helper too. */
  readonly fetch: typeof fetch;
  user: User | null = null;
  private token: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    this.fetch = (input, init) => this.authorizedFetch(input, init);
    this.api = createClient(baseUrl, this.fetch);
  }

  get signedIn(): boolean {
    return this.token !== null;
  }

  accessToken = (): string => this.token ?? "";

  onEnd(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Restore a session from the refresh cookie (page load); false when there is none. */
  resume(): Promise<boolean> {
    return this.refresh();
  }

  async login(email: string, password: string) {
    this.accept(await ok(this.api.v1.auth.login.$post({ json: { email, password } }, this.cookieMode())));
  }

  async register(input: { email: string; password: string; name: string; handle?: string }) {
    this.accept(await ok(this.api.v1.auth.register.$post({ json: input }, this.cookieMode())));
  }

  async exchangeOAuthCode(code: string) {
    this.accept(await ok(this.api.v1.auth.oauth.exchange.$post({ json: { code } }, this.cookieMode())));
  }

  async logout() {
    await this.api.v1.auth.logout.$post().catch(() => undefined);
    this.end("logout");
  }

  private cookieMode() {
    return { headers: COOKIE_MODE };
  }

  private accept(res: AuthResponse) {
    this.token = res.accessToken;
    this.user = res.user;
  }

  private end(reason: "expired" | "logout") {
    const wasSignedIn = this.token !== null;
    this.token = null;
    this.user = null;
    if (wasSignedIn || reason === "logout") for (const l of this.listeners) l(reason);
  }

  /** One refresh at a time; every caller waiting on a 401 shares it. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const res = await fetch(`${this.baseUrl}/v1/auth/refresh`, {
          method: "POST",
          headers: COOKIE_MODE,
          credentials: "same-origin",
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
      return fetch(input, { ...init, headers });
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
