/**
 * Named links: the operator's names for associations ("stp-b", "hss-1"),
 * from a links file. A name outlives reconnects (a new ASSOC-ID each time),
 * so alerts and dashboards can say which link is down, and a link that
 * should exist but has no association is visible as down, not absent.
 *
 * Format (documented in sctpdiag(8), LINKS FILE), one link per line:
 *   NAME [peer=ADDR[,ADDR...]] [peer-port=N] [local-port=N] [min-active=N]
 * `#` starts a comment. At least one of peer, peer-port, local-port.
 * An association belongs to the first link (in file order) it matches: one of
 * its peer addresses is listed (if peer= is given) and the ports are equal.
 * Pure: parsing and matching only; reading the file is in load.ts.
 */
import { normaliseUserAddress } from '../model/addr.js';

/** label values stay bounded: at most this many links */
export const MAX_LINKS = 256;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MAX_PEERS = 64;

export interface LinkSpec {
  name: string;
  /** RFC 5952 / dotted-quad peer addresses; empty: any */
  peers: string[];
  peerPort: number | null;
  localPort: number | null;
  /** ACTIVE paths expected (alerts compare sctp_link_paths{state="ACTIVE"} with it) */
  minActive: number;
  /** line in the file, for messages */
  line: number;
}

export class LinksError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    why: string,
  ) {
    super(`${file}:${line}: ${why}`);
  }
}

function port(v: string, key: string, file: string, line: number): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new LinksError(file, line, `${key}: ${JSON.stringify(v)} is not a port 1–65535`);
  return Number(v);
}

/** Parse a links file's text; errors name file:line. */
export function parseLinks(text: string, file: string): LinkSpec[] {
  const out: LinkSpec[] = [];
  const names = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const body = lines[i]!.replace(/#.*$/, '').trim();
    if (body === '') continue;
    const [name, ...fields] = body.split(/[ \t]+/) as [string, ...string[]];
    if (!NAME.test(name)) throw new LinksError(file, line, `link name ${JSON.stringify(name)}: use 1–64 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)`);
    if (names.has(name)) throw new LinksError(file, line, `link ${name} is defined twice`);
    const spec: LinkSpec = { name, peers: [], peerPort: null, localPort: null, minActive: 1, line };
    const seen = new Set<string>();
    for (const f of fields) {
      const eq = f.indexOf('=');
      if (eq <= 0) throw new LinksError(file, line, `${JSON.stringify(f)}: expected key=value (peer=, peer-port=, local-port=, min-active=)`);
      const key = f.slice(0, eq);
      const value = f.slice(eq + 1);
      if (seen.has(key)) throw new LinksError(file, line, `${key} given twice`);
      seen.add(key);
      if (key === 'peer') {
        const addrs = value.split(',');
        if (addrs.length > MAX_PEERS) throw new LinksError(file, line, `peer: at most ${MAX_PEERS} addresses`);
        for (const a of addrs) {
          const n = normaliseUserAddress(a);
          if (!n) throw new LinksError(file, line, `peer: ${JSON.stringify(a)} is not an IP address`);
          spec.peers.push(n);
        }
      } else if (key === 'peer-port') spec.peerPort = port(value, key, file, line);
      else if (key === 'local-port') spec.localPort = port(value, key, file, line);
      else if (key === 'min-active') {
        if (!/^\d{1,2}$/.test(value) || Number(value) < 1) throw new LinksError(file, line, `min-active: ${JSON.stringify(value)} is not a number 1–99`);
        spec.minActive = Number(value);
      } else throw new LinksError(file, line, `unknown key ${JSON.stringify(key)} (peer, peer-port, local-port, min-active)`);
    }
    if (spec.peers.length === 0 && spec.peerPort === null && spec.localPort === null)
      throw new LinksError(file, line, `link ${name} matches every association: give peer=, peer-port= or local-port=`);
    names.add(name);
    out.push(spec);
    if (out.length > MAX_LINKS) throw new LinksError(file, line, `more than ${MAX_LINKS} links`);
  }
  return out;
}

/** what matching needs of an association (or of an event's) */
export interface LinkCandidate {
  localPort: number;
  peerPort: number;
  paths: readonly { address: string }[];
}

export function matches(l: LinkSpec, a: LinkCandidate): boolean {
  if (l.peerPort !== null && a.peerPort !== l.peerPort) return false;
  if (l.localPort !== null && a.localPort !== l.localPort) return false;
  return l.peers.length === 0 || a.paths.some((p) => l.peers.includes(p.address));
}

/** The link an association belongs to: the first that matches, or null. */
export function linkOf(links: readonly LinkSpec[], a: LinkCandidate): LinkSpec | null {
  for (const l of links) if (matches(l, a)) return l;
  return null;
}

/** Association key → link name, for the associations that belong to a link (status, JSON). */
export function linkNames(assocs: readonly (LinkCandidate & { key: string })[], links: readonly LinkSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (links.length === 0) return out;
  for (const a of assocs) {
    const l = linkOf(links, a);
    if (l) out[a.key] = l.name;
  }
  return out;
}

/** The link of an event, from its association's ports and its path (events without both name no link). */
export function eventLink(links: readonly LinkSpec[], e: { assoc?: { localPort?: number; peerPort?: number }; path?: string }): string | null {
  const a = e.assoc;
  if (links.length === 0 || a?.localPort === undefined || a.peerPort === undefined) return null;
  return linkOf(links, { localPort: a.localPort, peerPort: a.peerPort, paths: e.path ? [{ address: e.path }] : [] })?.name ?? null;
}

/** An association makes its link up when it is ESTABLISHED with an ACTIVE path (metrics' sctp_link_up, top, doctor). */
export function linkAssocUp(a: { state: string; paths: readonly { state: string }[] }): boolean {
  return a.state === 'ESTABLISHED' && a.paths.some((p) => p.state === 'ACTIVE');
}

/** One link's health from the associations that belong to it. */
export interface LinkHealth {
  spec: LinkSpec;
  /** associations that belong to it (any state) */
  associations: number;
  /** ACTIVE paths over those associations (compared with spec.minActive, as the alert does) */
  activePaths: number;
  up: boolean;
}

/**
 * Every link of the file, in file order, with its associations' totals: an
 * expected link with no association is down (never missing), like
 * `sctp_link_up 0`. Each item carries its association and the link it
 * belongs to (callers match once with linkOf and keep the name).
 */
export function linkHealth(
  links: readonly LinkSpec[],
  items: Iterable<{ link: string | null; assoc: { state: string; paths: readonly { state: string }[] } }>,
): LinkHealth[] {
  if (links.length === 0) return [];
  const by = new Map<string, LinkHealth>();
  for (const spec of links) by.set(spec.name, { spec, associations: 0, activePaths: 0, up: false });
  for (const { link, assoc } of items) {
    const h = link === null ? undefined : by.get(link);
    if (!h) continue;
    h.associations++;
    for (const p of assoc.paths) if (p.state === 'ACTIVE') h.activePaths++;
    if (linkAssocUp(assoc)) h.up = true;
  }
  return [...by.values()];
}
