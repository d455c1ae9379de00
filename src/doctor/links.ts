/**
 * Named links in the doctor: the link an association belongs to (findings
 * name it), and the links-file check: an expected link that is down (no
 * association, or none ESTABLISHED with an ACTIVE path) or has fewer ACTIVE
 * paths than its min-active. The same rules as `sctp_link_up` and the
 * SctpLinkDown / SctpLinkPathDown alerts (src/links/links.ts).
 */
import { linkHealth, linkOf, type LinkSpec } from '../links/links.js';
import type { Association } from '../model/snapshot.js';
import { reporter, type CheckResult, type DoctorFacts } from './types.js';

/** matched once per association object (checks ask for the same one many times) */
const cache = new WeakMap<Association, string | null>();

/** The link an association belongs to, or null (no links file, or no link matches). */
export function linkName(f: DoctorFacts, a: Association): string | null {
  if (!f.links?.length) return null;
  let n = cache.get(a);
  if (n === undefined) {
    n = linkOf(f.links, a)?.name ?? null;
    cache.set(a, n);
  }
  return n;
}

const plainLabel = (a: Association): string => `assoc ${a.id} :${a.localPort}→:${a.peerPort} (${a.state})`;

/** `assoc 3 :6001→:5001 (ESTABLISHED)`, with ` link m3ua-b` when the links file names it. */
export function assocLabel(f: DoctorFacts, a: Association): string {
  const l = linkName(f, a);
  return l ? `${plainLabel(a)} link ${l}` : plainLabel(a);
}

/** The link names of the associations a result concerns (sorted, unique). */
export function linksOf(f: DoctorFacts, ids: readonly number[]): string[] {
  if (!f.links?.length || !f.snapshot || ids.length === 0) return [];
  const want = new Set(ids);
  const out = new Set<string>();
  for (const a of f.snapshot.associations) {
    const l = want.has(a.id) ? linkName(f, a) : null;
    if (l) out.add(l);
  }
  return [...out].sort();
}

function describe(l: LinkSpec): string {
  const parts = [
    l.peers.length ? `peer=${l.peers.join(',')}` : '',
    l.peerPort !== null ? `peer-port=${l.peerPort}` : '',
    l.localPort !== null ? `local-port=${l.localPort}` : '',
    `min-active=${l.minActive}`,
  ];
  return `link ${l.name} (${parts.filter(Boolean).join(' ')})`;
}

const pathText = (a: Association): string => a.paths.map((p) => `${p.address} ${p.state}`).join(', ') || 'no paths';

/** `links.expected`: every link of the links file is up with at least its min-active ACTIVE paths. */
export function checkExpectedLinks(f: DoctorFacts): CheckResult {
  const r = reporter('links.expected', 'links');
  const links = f.links ?? [];
  if (links.length === 0)
    return r('info', 'no links file: expected links not checked', [], 'name the links you expect in /etc/sctpdiag/links.conf or --links FILE (sctpdiag(8), LINKS FILE)');
  if (!f.snapshot) return r('info', 'no snapshot: links not checked');
  const members = new Map<string, Association[]>();
  const items = f.snapshot.associations.map((assoc) => {
    const link = linkName(f, assoc);
    if (link) members.set(link, [...(members.get(link) ?? []), assoc]);
    return { assoc, link };
  });
  const health = linkHealth(links, items);
  const down = health.filter((h) => !h.up);
  const short = health.filter((h) => h.up && h.activePaths < h.spec.minActive);
  const ev: string[] = [];
  const ids: number[] = [];
  const assocs = (name: string): string => (members.get(name) ?? []).map((a) => `${plainLabel(a)} ${pathText(a)}`).join('; ');
  for (const h of [...down, ...short]) ids.push(...(members.get(h.spec.name) ?? []).map((a) => a.id));
  for (const h of down) {
    const m = members.get(h.spec.name) ?? [];
    ev.push(
      m.length === 0
        ? `${describe(h.spec)}: DOWN, no association`
        : `${describe(h.spec)}: DOWN, none of its ${m.length} association(s) is ESTABLISHED with an ACTIVE path: ${assocs(h.spec.name)}`,
    );
  }
  for (const h of short)
    ev.push(`${describe(h.spec)}: ${h.activePaths} ACTIVE path(s), fewer than min-active ${h.spec.minActive}: ${assocs(h.spec.name)}`);
  const fine = health.length - down.length - short.length;
  if (down.length === 0 && short.length === 0)
    return r('ok', `${fine} link(s) up with at least their min-active ACTIVE paths`, health.map((h) => `${describe(h.spec)}: up, ${h.activePaths} ACTIVE path(s)`));
  if (fine) ev.push(`${fine} other link(s) up with at least their min-active ACTIVE paths`);
  const remedy = [
    down.length ? 'a link is down: sctpdiag(8), "Runbook: a link is down" (is the application connected? every peer address reachable: `ip route get PEER`)' : '',
    short.length ? 'paths are down: sctpdiag(8), "Runbook: a path is down"' : '',
  ]
    .filter(Boolean)
    .join('; ');
  const title = [
    down.length ? `${down.length} of ${health.length} expected link(s) down: ${down.map((h) => h.spec.name).join(', ')}` : '',
    short.length ? `${short.length} link(s) below min-active: ${short.map((h) => h.spec.name).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return r(down.length ? 'fail' : 'warn', title, ev, remedy, ids);
}
