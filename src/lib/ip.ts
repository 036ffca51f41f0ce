/**
 * The rate-limit bucket of a client IP: an IPv4 address as is; an IPv6 address by its /64
 * (a subscriber usually holds a whole /64, so per-address limits would be free to evade),
 * written canonically so every spelling of one prefix lands in one bucket. IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`) is the IPv4 client it carries. Anything unparseable shares one bucket.
 * Hand-written: no small, maintained package does canonical /64 grouping for Workers.
 */
export function ipBucket(raw: string | undefined): string {
  if (!raw) return "unknown";
  const ip = raw.trim().toLowerCase();
  const v4 = parseIpv4(ip);
  if (v4) return v4.join(".");
  const groups = parseIpv6(ip);
  if (!groups) return "invalid";
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

function parseIpv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** Eight 16-bit groups, with `::` expanded and a trailing dotted IPv4 turned into two groups. */
function parseIpv6(s: string): number[] | undefined {
  let addr = s.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, ""); // brackets, zone id
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (dotted) {
    const o = parseIpv4(dotted[1]!);
    if (!o) return undefined;
    const tail = `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
    addr = addr.slice(0, addr.length - dotted[1]!.length) + tail;
  }
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const split = (h: string | undefined) => (h ? h.split(":") : []);
  const head = split(halves[0]);
  const tail = split(halves[1]);
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}
