/**
 * What files may be: the content types Petrel knows how to check (magic bytes, or valid UTF-8
 * text), safe filenames, and the RFC 6266 `Content-Disposition` they are served with.
 * Active content (HTML, SVG, XML, scripts) has no entry here, so it can never be allowed, even
 * by configuration. Hand-written: the npm sniffers (file-type & co.) need Node streams or
 * Buffer and cover hundreds of formats we do not accept.
 */

interface KnownType {
  /** Extensions a download name may end with; the first is appended when the name has none of them. */
  extensions: string[];
  /** Does the beginning of the object (up to HEAD_BYTES) match the type? */
  matches(head: Uint8Array): boolean;
}

/** How many leading bytes the content check reads. */
export const HEAD_BYTES = 4096;

const at = (bytes: Uint8Array, offset: number, signature: string | number[]) => {
  const sig = typeof signature === "string" ? Array.from(signature, (c) => c.charCodeAt(0)) : signature;
  return bytes.length >= offset + sig.length && sig.every((b, i) => bytes[offset + i] === b);
};

/**
 * UTF-8 text without NUL or other control characters than tab, line breaks, form feed and escape.
 * The head may end inside a multi-byte character: `stream: true` tolerates that.
 */
function isText(head: Uint8Array): boolean {
  for (const b of head) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
    if (b === 0x7f) return false;
  }
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const isoMedia = (brands: string[]) => (b: Uint8Array) =>
  at(b, 4, "ftyp") && brands.some((brand) => at(b, 8, brand));

const KNOWN: Record<string, KnownType> = {
  "image/png": {
    extensions: ["png"],
    matches: (b) => at(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  "image/jpeg": { extensions: ["jpg", "jpeg"], matches: (b) => at(b, 0, [0xff, 0xd8, 0xff]) },
  "image/gif": { extensions: ["gif"], matches: (b) => at(b, 0, "GIF87a") || at(b, 0, "GIF89a") },
  "image/webp": { extensions: ["webp"], matches: (b) => at(b, 0, "RIFF") && at(b, 8, "WEBP") },
  "image/avif": { extensions: ["avif"], matches: isoMedia(["avif", "avis"]) },
  "application/pdf": { extensions: ["pdf"], matches: (b) => at(b, 0, "%PDF-") },
  "application/zip": {
    extensions: ["zip"],
    matches: (b) => at(b, 0, [0x50, 0x4b, 0x03, 0x04]) || at(b, 0, [0x50, 0x4b, 0x05, 0x06]),
  },
  "audio/mpeg": {
    extensions: ["mp3"],
    matches: (b) => at(b, 0, "ID3") || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0),
  },
  "video/mp4": {
    extensions: ["mp4", "m4v"],
    matches: isoMedia(["isom", "iso2", "mp41", "mp42", "avc1", "M4V "]),
  },
  "video/webm": { extensions: ["webm"], matches: (b) => at(b, 0, [0x1a, 0x45, 0xdf, 0xa3]) },
  "text/plain": { extensions: ["txt", "log", "md"], matches: isText },
  "text/csv": { extensions: ["csv"], matches: isText },
  "text/markdown": { extensions: ["md", "markdown"], matches: isText },
  "application/json": { extensions: ["json"], matches: isText },
};

/** Raster images that a browser renders without running anything: the only types served inline. */
const INLINE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

/** Allowed = configured AND known: a configured type without a content check fails closed. */
export function isAllowedType(contentType: string, configured: readonly string[]): boolean {
  return Object.hasOwn(KNOWN, contentType) && configured.some((t) => t.toLowerCase() === contentType);
}

export function contentMatches(contentType: string, head: Uint8Array): boolean {
  return Object.hasOwn(KNOWN, contentType) && KNOWN[contentType]!.matches(head);
}

export const servedInline = (contentType: string) => INLINE.has(contentType);

/** The media type of a Content-Type header, lower-case, without parameters. */
export const mediaType = (header: string | undefined) =>
  (header ?? "").split(";", 1)[0]!.trim().toLowerCase();

// C0/C1 controls, path separators, and bidi / invisible format characters that disguise an
// extension ("cod\u202Egnp.exe" displays as "codexe.png").
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

/** Why a filename is refused, or undefined. Names are kept as metadata only, never in keys or paths. */
export function filenameProblem(name: string): string | undefined {
  if (name !== name.normalize("NFC")) return "must be NFC-normalised Unicode";
  if (name.trim() !== name) return "must not start or end with white space";
  if (FORBIDDEN.test(name)) return "must not contain path separators, control or bidi characters";
  if (/^\.+$/.test(name)) return "must be a file name";
  return undefined;
}

/**
 * The name a download is saved under: the stored name, plus the type's extension when the name
 * does not already end in one, so `a.png.html` declared as image/png is saved as `a.png.html.png`.
 */
export function downloadName(filename: string, contentType: string): string {
  const known = KNOWN[contentType];
  if (!known) return filename;
  const ext = /\.([^.]+)$/.exec(filename)?.[1]?.toLowerCase();
  return ext && known.extensions.includes(ext) ? filename : `${filename}.${known.extensions[0]}`;
}

/** RFC 8187 ext-value: UTF-8, percent-encoding everything outside attr-char. */
const extValue = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * RFC 6266 Content-Disposition: an ASCII `filename` fallback (anything else becomes `_`) and the
 * exact name in `filename*`. Inline only for safe raster images.
 */
export function contentDisposition(filename: string, contentType: string): string {
  const name = downloadName(filename, contentType);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  const kind = servedInline(contentType) ? "inline" : "attachment";
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}
