/**
 * Where the SDK keeps what must survive a reload (the outbox): a small async key-value interface,
 * so each platform brings its own. Browsers: `indexedDbStorage()` (IndexedDB through idb-keyval,
 * shared by every tab of the origin). Node: `memoryStorage()` here, or `fileStorage(path)` from
 * client/node/file-storage.ts. React Native: wrap AsyncStorage in these four methods.
 */
import { createStore, del, entries, get, set } from "idb-keyval";

export interface KeyValueStorage {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  /** Every entry whose key starts with `prefix`, sorted by key. */
  list<T>(prefix: string): Promise<Array<[string, T]>>;
}

const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** In memory: lost with the process. For tests and scripts that need no durability. */
export function memoryStorage(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    async get<T>(key: string) {
      const v = map.get(key);
      return v === undefined ? undefined : (JSON.parse(v) as T);
    },
    async set(key, value) {
      map.set(key, JSON.stringify(value));
    },
    async del(key) {
      map.delete(key);
    },
    async list<T>(prefix: string) {
      const out: Array<[string, T]> = [];
      for (const [k, v] of map) if (k.startsWith(prefix)) out.push([k, JSON.parse(v) as T]);
      return out.sort(byKey);
    },
  };
}

/** IndexedDB (browsers): survives reloads, closed tabs and browser restarts; one store per origin. */
export function indexedDbStorage(dbName = "petrel", storeName = "kv"): KeyValueStorage {
  const store = createStore(dbName, storeName);
  return {
    get: <T>(key: string) => get<T>(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    async list<T>(prefix: string) {
      const all: Array<[unknown, T]> = await entries(store);
      return all
        .filter((e): e is [string, T] => typeof e[0] === "string" && e[0].startsWith(prefix))
        .sort(byKey);
    },
  };
}
