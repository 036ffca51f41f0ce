// Hand-written: no well-kept library does versioned cache-aside over Upstash with a per-isolate tier in Workers.

/** A document held in this isolate: its Redis stamp, the local epochs it was read under, its bytes. */
export interface MemoryEntry {
  stamp: string;
  snap: number[];
  etag: string;
  body: string;
  expiresAt: number;
}

/** Past this many tracked deps the local epochs (and the entries that rely on them) are dropped. */
const MAX_TRACKED = 50_000;

/**
 * The per-isolate tier: a bounded LRU of documents plus a local version epoch per dep, so an
 * invalidation in this isolate makes its own entries stale at once, whatever Redis does.
 * State only: sizes and TTLs come from the caller, whose options may differ per request.
 */
export class MemoryTier {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly local = new Map<string, number>();
  private epoch = 0;

  /** The local epochs of `deps`, compared on read: a bumped dep makes the entry stale. */
  snapshot(deps: string[]): number[] {
    return deps.map((d) => this.local.get(d) ?? 0);
  }

  get(key: string, snap: number[]): MemoryEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now() || e.snap.some((n, i) => n !== snap[i])) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key); // LRU: most recently used last
    this.entries.set(key, e);
    return e;
  }

  set(key: string, e: Omit<MemoryEntry, "expiresAt">, ttlMs: number, maxEntries: number) {
    if (maxEntries === 0 || ttlMs <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { ...e, expiresAt: Date.now() + ttlMs });
  }

  /** Invalidate locally: a new epoch per dep (bounded: past MAX_TRACKED everything is dropped). */
  bump(deps: string[]) {
    if (this.local.size + deps.length > MAX_TRACKED) {
      this.local.clear();
      this.entries.clear();
    }
    for (const d of deps) this.local.set(d, ++this.epoch);
  }
}
