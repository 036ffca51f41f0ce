/** Who is who in an org: user id → name and handle, from the member list (refetched on a stranger). */
import { type Client, type Member, ok } from "./api.ts";

export class People {
  private byId = new Map<string, Member>();
  private loading: Promise<void> | null = null;
  private lastLoad = 0;
  private asked = new Set<string>();
  private listeners = new Set<() => void>();

  private readonly api: Client;
  readonly orgId: string;

  constructor(api: Client, orgId: string) {
    this.api = api;
    this.orgId = orgId;
  }

  /** Every page of the member list. */
  load(): Promise<void> {
    this.loading ??= (async () => {
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
        for (const l of this.listeners) l();
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  onChange(fn: () => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(userId: string): Member | undefined {
    const m = this.byId.get(userId);
    // Someone new (joined after we loaded): reload once for them, else at most every 30 s.
    if (!m && (!this.asked.has(userId) || Date.now() - this.lastLoad > 30_000)) {
      this.asked.add(userId);
      this.load().catch(() => undefined);
    }
    return m;
  }

  name(userId: string): string {
    return this.get(userId)?.name ?? "Someone";
  }

  all(): Member[] {
    return [...this.byId.values()];
  }
}
