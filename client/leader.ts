/**
 * One flusher at a time. Browsers: the Web Locks API (`navigator.locks`), which every tab of an
 * origin shares and which a closed or crashed tab releases. Elsewhere (Node, React Native): a
 * lock inside this process.
 */
export interface Locks {
  /** Run `fn` while holding the lock `name`; waits for it when another holder has it. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

type WebLocks = { request<T>(name: string, cb: () => Promise<T>): Promise<T> };

export function webLocks(): Locks | undefined {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
  if (!locks) return undefined;
  return { withLock: (name, fn) => locks.request(name, fn) };
}

/** A lock within one process: a promise chain per name (hand-written, a few lines). */
export function processLocks(): Locks {
  const tails = new Map<string, Promise<unknown>>();
  return {
    withLock<T>(name: string, fn: () => Promise<T>) {
      const run = (tails.get(name) ?? Promise.resolve()).then(fn, fn);
      const tail = run.catch(() => undefined);
      tails.set(name, tail);
      void tail.then(() => {
        if (tails.get(name) === tail) tails.delete(name);
      });
      return run;
    },
  };
}

let shared: Locks | undefined;
/** Web Locks where the platform has them, else one process-wide lock table. */
export function defaultLocks(): Locks {
  shared ??= webLocks() ?? processLocks();
  return shared;
}
