import { DependencyError } from "../lib/errors.ts";

export class BodyLengthError extends Error {
  readonly problem: "too_long" | "too_short";
  constructor(problem: "too_long" | "too_short") {
    super(problem === "too_long" ? "body longer than declared" : "body shorter than declared");
    this.name = "BodyLengthError";
    this.problem = problem;
  }
}

interface PipeState {
  error?: BodyLengthError;
  /** Settles when the body has been piped through (or failed to be). */
  piped: Promise<void>;
}

/**
 * A stream of exactly `length` bytes: errors as soon as more arrive (nothing past the limit is
 * forwarded) or when it ends short. The chunk that completes the length is held back until the
 * source has ended, so a store never receives a complete body from a source that is still
 * sending: it sees either all of an exact body or a premature end, and stores nothing then.
 * FixedLengthStream gives stores the known length they need.
 */
export function exactly(body: ReadableStream, length: number, framed = false) {
  const state: PipeState = { piped: Promise.resolve() };
  if (framed) {
    // HTTP framing (a Content-Length equal to `length`) already bounds the body: a native pipe,
    // as fast as a bare R2 put (the counting stream below costs ~20%); FixedLengthStream refuses
    // a body that ends early (see isShortBody).
    const fixed = new FixedLengthStream(length);
    state.piped = body.pipeTo(fixed.writable).catch(() => {});
    return { readable: fixed.readable, state };
  }
  let seen = 0;
  let last: Uint8Array | undefined;
  const fail = (
    controller: TransformStreamDefaultController<Uint8Array>,
    problem: BodyLengthError["problem"],
  ) => {
    state.error = new BodyLengthError(problem);
    controller.error(state.error);
  };
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > length) fail(controller, "too_long");
      else if (seen === length) last = chunk;
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen < length) fail(controller, "too_short");
      else if (last) controller.enqueue(last);
    },
  });
  const fixed = new FixedLengthStream(length);
  // Failures surface through the readable end (and `state`); the pipes' own promises only repeat them.
  body.pipeTo(counter.writable).catch(() => {});
  state.piped = counter.readable.pipeTo(fixed.writable).catch(() => {});
  return { readable: fixed.readable, state };
}

/** workerd's FixedLengthStream refusing a body that ended before its length; nothing else says this. */
const isShortBody = (err: unknown) =>
  err instanceof TypeError && err.message.includes("FixedLengthStream did not see all expected bytes");

/** Run the store's write; a failure caused by the body's length is reported as such. */
export async function storing<T>(state: PipeState, work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await state.piped; // the store may notice the broken stream before the pipe reports why
    if (!state.error && isShortBody(err)) state.error = new BodyLengthError("too_short");
    throw state.error ?? new DependencyError("storage", err);
  }
  if (state.error) throw state.error;
  return result;
}

/** Bound on metadata-sized storage calls (head, get of a handle, delete). Streams are paced by the client. */
export const STORAGE_OP_TIMEOUT_MS = 5000;

/** Storage failures (and, with `timeoutMs`, a store that does not answer) become a 503 dependency error. */
export const guard = <T>(p: Promise<T>, timeoutMs?: number): Promise<T> => {
  const failed = (err: unknown) => {
    throw new DependencyError("storage", err);
  };
  if (!timeoutMs) return p.catch(failed);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`storage did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([p, timeout])
    .catch(failed)
    .finally(() => clearTimeout(timer));
};
