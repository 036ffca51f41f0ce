/**
 * Who is who in an org: user id → name and handle. Members and above read the org's member list
 * (refetched on a stranger). Guests get no member directory (the API answers 403), so for them
 * only the signed-in user has a name: everyone else is shown as "Someone" with a short id tag.
 */
import { ApiProblem, type Client, type Member, ok } from "../index.ts";

export interface Person {
  userId: string;
  name: string;
  handle: string;
}

/** A short, stable tag for someone the client cannot name (the end of their id). */
export const idTag = (userId: string) => `…${userId.slice(-4)}`;

export class People {
  private byId = new Map<string, Member>();
  private loading: Promise<void> | null = null;
  private lastLoad = 0;
  private asked = new Set<string>();
  private listeners = new Set<() => void>();
  private hasDirectory: boolean;

  private readonly api: Client;
  private readonly me: Person;
  readonly orgId: string;

  /** `directory`: whether the caller's org role may read the member list (not a guest). */
  constructor(api: Client, orgId: string, me: Person, directory: boolean) {
    this.api = api;
    this.orgId = orgId;
    this.me = me;
    this.hasDirectory = directory;
  }

  /** Whether names come from the member list (false for guests: only the user's own is known). */
  get directory(): boolean {
    return this.hasDirectory;
  }

  /** Every page of the member list; nothing for a guest. */
  load(): Promise<void> {
    if (!this.hasDirectory) return Promise.resolve();
    this.loading ??= this.fetchAll().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async fetchAll() {
    try {
      let cursor: string | undefined;
      do {
        const page = await ok(
          this.api.v1.orgs[":orgId"].members.$get({
            param: { orgId: this.orgId },
            query: { limit: "100", ...(cursor ? { cursor } : {}) },
          }),
        );
        for (const m of page.items) this.byId.set(m.userId, m);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      this.lastLoad = Date.now();
    } catch (err) {
      // Demoted to guest while the page was open: go on without the directory.
      if (!(err instanceof ApiProblem && err.problem.status === 403)) throw err;
      this.hasDirectory = false;
      this.byId.clear();
    }
    for (const l of this.listeners) l();
  }

  onChange(fn: () => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(userId: string): Person | undefined {
    if (userId === this.me.userId) return this.me;
    const m = this.byId.get(userId);
    // Someone new (joined after we loaded): reload once for them, else at most every 30 s.
    if (!m && this.hasDirectory && (!this.asked.has(userId) || Date.now() - this.lastLoad > 30_000)) {
      this.asked.add(userId);
      this.load().catch(() => undefined);
    }
    return m;
  }

  name(userId: string): string {
    return this.get(userId)?.name ?? "Someone";
  }

  /** A name for lists (presence, typing): "Someone …1a2b" for people the client cannot name. */
  label(userId: string): string {
    return this.get(userId)?.name ?? `Someone ${idTag(userId)}`;
  }

  all(): Member[] {
    return [...this.byId.values()];
  }
}
