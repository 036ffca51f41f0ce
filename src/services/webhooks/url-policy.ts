import { ApiError } from "../../lib/errors.ts";

export const MAX_URL_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);
const isLoopback = (host: string) => LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);

/** IP literals of networks an outside receiver never lives in (SSRF): private, link-local, CGNAT, unspecified. */
function isInternalLiteral(host: string): boolean {
  if (isLoopback(host) || host.endsWith(".localhost")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  // IPv6 literals: unique-local (fc00::/7), link-local (fe80::/10), unspecified, v4-mapped.
  return host.startsWith("[") && /^\[(?:f[cd]|fe[89ab]|::(?:ffff:)?(?:\]|\d))/i.test(host);
}

const refuse = (message: string): never => {
  throw new ApiError("validation_failed", `The webhook URL is not allowed: ${message}.`, {
    errors: [{ path: "url", message }],
  });
};

/**
 * Where webhooks may be sent: `https` only, to a public host; in development and test also
 * plain `http` to a loopback host (a local receiver). No credentials in the URL. Returns the
 * normalised URL.
 */
export function checkWebhookUrl(raw: string, isDev: boolean): string {
  if (raw.length > MAX_URL_LENGTH) refuse(`at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("not an absolute URL");
  }
  if (url.username || url.password) refuse("credentials in the URL");
  const host = url.hostname.toLowerCase();
  const devLoopback = isDev && isLoopback(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && devLoopback)) {
    refuse(isDev ? "https only (or http to a loopback host in development)" : "https only");
  }
  if (!devLoopback && isInternalLiteral(host)) refuse("a loopback or private address");
  url.hash = "";
  return url.toString();
}
