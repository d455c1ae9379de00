/**
 * Addresses as the kernel prints them (IPv4 dotted quad; IPv6 as 8 uncompressed
 * groups, `%pI6`) and as operators read them (RFC 5952).
 */
export type Family = 4 | 6;

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return V4.test(s);
}

/** Parse any textual IPv6 form (compressed or not, optional embedded IPv4) to 8 groups, or null. */
export function parseIPv6(s: string): number[] | null {
  if (s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: number[] = [];
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = s.slice(lastColon + 1);
    if (!isIPv4(v4)) return null;
    const o = v4.split('.').map(Number) as [number, number, number, number];
    tail = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    // keep the separator: "::ffff:" -> "::ffff", "::" stays "::"
    text = s.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  if (!head) return null;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : null;
  }
  const rest = parseGroups(halves[1] ?? '');
  if (!rest) return null;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
}

/** RFC 5952 text for 8 groups: lower case, no leading zeros, longest run (≥2) of zeros as `::`. */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  // IPv4-mapped ::ffff:a.b.c.d keeps its dotted tail (RFC 5952 §5)
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    const g6 = groups[6] ?? 0;
    const g7 = groups[7] ?? 0;
    return `::ffff:${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`;
  }
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface Address {
  /** RFC 5952 (IPv6) or dotted quad (IPv4): what people read and type */
  address: string;
  /** exactly as /proc printed it */
  kernelAddress: string;
  family: Family;
}

/** Interpret one address token from procfs. Returns null for text that is no address. */
export function fromKernel(token: string): Address | null {
  if (isIPv4(token)) return { address: token, kernelAddress: token, family: 4 };
  const g = parseIPv6(token);
  if (!g) return null;
  return { address: formatIPv6(g), kernelAddress: token, family: 6 };
}

/** Normalise an address typed by a user (filters, --peer); null if it is no IP address. */
export function normaliseUserAddress(text: string): string | null {
  const t = text.trim();
  if (isIPv4(t)) return t;
  const g = parseIPv6(t.replace(/^\[|\]$/g, ''));
  return g ? formatIPv6(g) : null;
}
