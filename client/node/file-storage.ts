/**
 * Durable storage for Node scripts: one JSON file, rewritten atomically (write to a temporary
 * file, then rename) on every change, so a killed process leaves the old or the new state, never
 * half of one. Hand-written: it is twenty lines over node:fs, for a queue of a few hundred entries.
 * One process per file: two processes sharing it would overwrite each other's changes.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { KeyValueStorage } from "../storage.ts";

export function fileStorage(path: string): KeyValueStorage {
  mkdirSync(dirname(path), { recursive: true });
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    data = {};
  }
  const save = () => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, path);
  };
  return {
    async get<T>(key: string) {
      return data[key] as T | undefined;
    },
    async set(key, value) {
      data[key] = structuredClone(value);
      save();
    },
    async del(key) {
      delete data[key];
      save();
    },
    async list<T>(prefix: string) {
      return Object.keys(data)
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map((k) => [k, structuredClone(data[k]) as T] as [string, T]);
    },
  };
}
