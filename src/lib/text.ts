/**
 * What text Petrel stores, decided once. Every string that reaches the database, a cache or a
 * socket goes through one of these schemas (or, for text from other systems, `storableLine`):
 * - always well-formed Unicode: a lone UTF-16 surrogate (JSON `"\ud800"`) is refused, because
 *   sqld cannot even deserialize a statement that carries one;
 * - single-line text (names, titles, handles, filenames, tokens) has no control characters
 *   (C0, DEL, C1) and no U+2028/U+2029 line or paragraph separators;
 * - multi-line text (message bodies) keeps tab and line feed; a carriage return (CRLF or a lone
 *   CR) is stored as a line feed, so one text has one spelling; other controls are refused.
 * Plain `zod` (no Hono, no OpenAPI extension): the party servers bundle this module too.
 */
import { z } from "zod";

/** Issues raised by these rules carry this marker, so a caller can tell them from other issues. */
export const TEXT_RULE = "petrel_text";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const LINE_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Tab, LF and CR are allowed in bodies (CR is rewritten to LF after the check).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const BODY_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;

type Kind = "line" | "body" | "opaque";

/** Why `s` may not be stored as `kind`, or undefined. */
export function textProblem(s: string, kind: Kind): string | undefined {
  if (!s.isWellFormed()) return "must be well-formed Unicode (no lone surrogates)";
  if (kind === "line" && LINE_FORBIDDEN.test(s)) return "must not contain control characters or line breaks";
  if (kind === "body" && BODY_FORBIDDEN.test(s))
    return "must not contain control characters other than tab and line breaks";
  return undefined;
}

export const isTextIssue = (issue: { code: string; params?: unknown }) =>
  issue.code === "custom" && (issue.params as { rule?: unknown } | undefined)?.rule === TEXT_RULE;

const rule = (kind: Kind) => (s: string, ctx: z.RefinementCtx) => {
  const message = textProblem(s, kind);
  if (message) ctx.addIssue({ code: "custom", message, params: { rule: TEXT_RULE } });
};

interface Bounds {
  min?: number;
  max: number;
}

/** A single-line name or title: trimmed, then bounded, well-formed, no controls. */
export const name = ({ min = 1, max }: Bounds) =>
  z.string().trim().min(min).max(max).superRefine(rule("line"));

/** A single-line value kept exactly as sent (tokens, free-form keys): well-formed, no controls. */
export const line = ({ min = 1, max }: Bounds) => z.string().min(min).max(max).superRefine(rule("line"));

/** Multi-line text (message bodies): tab and newlines kept, CRLF / CR stored as LF. */
export const text = ({ min = 1, max }: Bounds) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine(rule("body"))
    .transform((s) => s.replace(/\r\n?/g, "\n"));

/** Secrets that are never stored as sent (passwords, hashed): any well-formed text. */
export const secret = ({ min = 1, max }: Bounds) => z.string().min(min).max(max).superRefine(rule("opaque"));

/**
 * Single-line text from another system (an identity provider's display name), made storable
 * instead of refused: lone surrogates become U+FFFD, controls and line breaks become spaces,
 * and it is cut to `max` code units without splitting a surrogate pair. Empty → undefined.
 */
export function storableLine(s: string, max: number): string | undefined {
  const cleaned = s.toWellFormed().replace(new RegExp(LINE_FORBIDDEN.source, "gu"), " ").trim();
  let cut = cleaned.slice(0, max);
  if (!cut.isWellFormed()) cut = cut.slice(0, -1); // the cut fell inside a pair
  cut = cut.trim();
  return cut === "" ? undefined : cut;
}
