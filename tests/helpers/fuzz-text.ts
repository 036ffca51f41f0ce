/**
 * Text for the fuzzer beyond printable ASCII: well-formed values from every plane, and values
 * that no stored text field may accept (src/lib/text.ts): a lone UTF-16 surrogate anywhere, or
 * a control character other than tab and line breaks inside the text.
 */
import fc from "fast-check";

export const LONE_SURROGATE = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

const FORBIDDEN_CONTROLS = [...range(0x00, 0x08), 0x0b, 0x0c, ...range(0x0e, 0x1f), ...range(0x7f, 0x9f)].map(
  (c) => String.fromCharCode(c),
);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Well-formed text without control characters, any plane, bounded in UTF-16 units as zod counts them. */
export function wellFormedText(minLength: number, maxLength: number): fc.Arbitrary<string> {
  const graphemes = Math.max(minLength, Math.min(maxLength, 40));
  return fc
    .string({ unit: "grapheme", minLength, maxLength: graphemes })
    .filter((s) => s.length >= minLength && s.length <= maxLength);
}

/** Any code points around a spliced-in lone surrogate: never well-formed, whatever the field. */
export const illFormedText: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: "binary", maxLength: 20 }),
    LONE_SURROGATE,
    fc.string({ unit: "binary", maxLength: 20 }),
  )
  .map(([a, s, b]) => a + s + b)
  .filter((s) => !s.isWellFormed());

// Text whose trim() keeps something: a control between two of them stays inside a trimmed name.
const solid = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== "");

/** A control character that no text field allows (tab and line breaks excepted), inside the text. */
export const controlText: fc.Arbitrary<string> = fc
  .tuple(solid, fc.constantFrom(...FORBIDDEN_CONTROLS), solid)
  .map(([a, c, b]) => a + c + b);
