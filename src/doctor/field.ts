/**
 * Field checks: what breaks SCTP outside the kernel's SCTP code (issue 17) —
 * a blocked or missing module, strict rp_filter on a path's interface, socket
 * memory against sctp_mem, IPVS without sloppy_sctp, conntrack and NAT on
 * SCTP. Parsers and checks are pure (facts come from field-gather.ts) so they
 * run on fixtures.
 */
import type { Association, Snapshot } from '../model/snapshot.js';
import { reporter, type CheckResult, type DoctorFacts } from './types.js';
import { assocLabel, linkName } from './links.js';

// ---------------------------------------------------------------- facts

/** One modprobe.d line that stops sctp from loading. */
export interface ModprobeBlock {
  file: string;
  line: number;
  /** `blacklist sctp` blocks alias autoload only; `install sctp /bin/true` blocks every load */
  kind: 'blacklist' | 'install';
  text: string;
}

export interface RpFilterFacts {
  /** interface → effective value: max(conf/all, conf/<if>), as the kernel uses it */
  effective: Record<string, { all: number; iface: number }>;
  /** interface → its IPv4 addresses as CIDR (this netns) */
  ifAddrs: Record<string, string[]>;
}

export interface NatRule {
  source: 'nft' | 'iptables';
  /** where and what, e.g. `ip natt post handle 3: snat (sctp)` */
  summary: string;
  /** true when the rule names SCTP; false when it names no layer-4 protocol (applies to SCTP too) */
  explicitSctp: boolean;
}

export interface FieldFacts {
  /** null when the filesystem was not read (a capture without --fs-root) */
  modules: {
    blocks: ModprobeBlock[];
    /** kernel command line blacklist (module_blacklist= / modprobe.blacklist=) */
    cmdline: string | null;
    osId: string;
    osLike: string[];
    kernelRelease: string | null;
    /** sctp.ko* paths found for that release; null when /lib/modules/<rel> is missing */
    installed: string[] | null;
    /** files skipped (symlinks, unreadable), with why */
    skipped: string[];
  } | null;
  rpFilter: RpFilterFacts | null;
  sctpMem: {
    /** sctp_mem: min, pressure, max, in pages */
    limits: [number, number, number] | null;
    /** /proc/net/protocols SCTP "memory" column (pages), null when -1 / absent */
    usedPages: number | null;
    /** its "press" column: yes / no / NI */
    pressure: string | null;
  } | null;
  ipvs: {
    /** /proc/net/ip_vs exists */
    loaded: boolean;
    sloppySctp: string | null;
    /** SCTP virtual services, as `addr:port scheduler` */
    sctpServices: string[];
  } | null;
  conntrack: {
    loaded: boolean;
    /** nf_conntrack_sctp_* sysctls present (SCTP tracked) */
    sctpSysctls: string[];
  } | null;
  nat: { rules: NatRule[]; unavailable: string[] } | null;
}

// ---------------------------------------------------------------- parsers

const DISABLING_INSTALL = /^(?:(?:\/usr)?\/bin\/)?(?:true|false)$/;

/** The lines of one modprobe.d file that block sctp (modprobe.d(5): `\` continues a line, `#` comments). */
export function parseModprobeConf(file: string, text: string): ModprobeBlock[] {
  const out: ModprobeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!;
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const tok = t.split(/\s+/);
    const mod = (tok[1] ?? '').replace(/-/g, '_');
    if (mod !== 'sctp') continue;
    if (tok[0] === 'blacklist') out.push({ file, line: start + 1, kind: 'blacklist', text: t });
    else if (tok[0] === 'install' && DISABLING_INSTALL.test(tok[2] ?? ''))
      out.push({ file, line: start + 1, kind: 'install', text: t });
  }
  return out;
}

/** `module_blacklist=a,sctp` or `modprobe.blacklist=sctp` on the kernel command line, or null. */
export function parseCmdlineBlacklist(cmdline: string): string | null {
  for (const tok of cmdline.trim().split(/\s+/)) {
    const m = /^(module_blacklist|modprobe\.blacklist)=(.*)$/.exec(tok);
    if (m && m[2]!.split(',').some((x) => x.replace(/-/g, '_') === 'sctp')) return tok;
  }
  return null;
}

/** ID and ID_LIKE of /etc/os-release. */
export function parseOsRelease(text: string): { id: string; like: string[] } {
  const get = (k: string): string => (new RegExp(`^${k}=("?)([^"\\n]*)\\1\\s*$`, 'm').exec(text)?.[2] ?? '').toLowerCase();
  return { id: get('ID'), like: get('ID_LIKE').split(/\s+/).filter(Boolean) };
}

/** sctp.ko* entries in a modules.dep or modules.builtin text (paths relative to /lib/modules/<rel>). */
export function findSctpModule(text: string): string[] {
  const paths = text.split('\n').map((line) => line.split(':')[0]!.trim());
  return paths.filter((path) => /(^|\/)sctp\.ko(\.(xz|zst|gz))?$/.test(path));
}

/** The SCTP line of /proc/net/protocols: its memory (pages) and press columns. */
export function parseProtocols(text: string): { usedPages: number | null; pressure: string | null } | null {
  const lines = text.split('\n');
  const head = (lines[0] ?? '').trim().split(/\s+/);
  const mi = head.indexOf('memory');
  const pi = head.indexOf('press');
  if (mi < 0 || pi < 0) return null;
  for (const l of lines.slice(1)) {
    const c = l.trim().split(/\s+/);
    if (c[0] !== 'SCTP') continue;
    const used = Number(c[mi]);
    return { usedPages: Number.isSafeInteger(used) && used >= 0 ? used : null, pressure: c[pi] ?? null };
  }
  return null;
}

export function parseTriple(text: string | null): [number, number, number] | null {
  const v = (text ?? '').trim().split(/\s+/).map(Number);
  return v.length === 3 && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? [v[0]!, v[1]!, v[2]!] : null;
}

function hexAddr(h: string): string {
  const m = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/.exec(h);
  if (!m) return h;
  const n = parseInt(m[1]!, 16);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${parseInt(m[2]!, 16)}`;
}

/** SCTP virtual services in /proc/net/ip_vs. */
export function parseIpvsServices(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^SCTP\s+(\S+)\s+(\S+)/.exec(l);
    if (m) out.push(`${hexAddr(m[1]!)} ${m[2]}`);
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const NAT_STMTS = ['snat', 'dnat', 'masquerade', 'redirect'];
const L4 = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite', 'icmp', 'icmpv6', 'esp', 'ah', 'gre', 'ipip', '6', '17', '132']);

/** Every string in a JSON value (bounded by the value's own size). */
function strings(v: Json, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push(k), strings(x, out));
  return out;
}

/** Layer-4 protocols a rule's expressions name (payload protocol, meta l4proto / ip protocol values). */
function protocolsOf(expr: Json[]): Set<string> {
  const found = new Set<string>();
  for (const e of expr) {
    if (!e || typeof e !== 'object' || Array.isArray(e)) continue;
    const m = (e as { match?: { op?: string; left?: Json; right?: Json } }).match;
    if (!m || m.op === '!=') continue; // `l4proto != tcp` still applies to SCTP
    const left = m.left as { payload?: { protocol?: string; field?: string }; meta?: { key?: string } } | undefined;
    const proto = left?.payload?.protocol;
    if (proto && L4.has(proto)) found.add(proto);
    const isProtoSel = left?.meta?.key === 'l4proto' || left?.meta?.key === 'protocol' || left?.payload?.field === 'protocol' || left?.payload?.field === 'nexthdr';
    if (isProtoSel) for (const s of strings(m.right ?? null)) if (L4.has(s)) found.add(s === '132' ? 'sctp' : s);
  }
  return found;
}

/** NAT rules touching SCTP in `nft -j list ruleset` output. Throws on JSON that is not an nftables ruleset. */
export function parseNftNat(json: string): NatRule[] {
  const doc = JSON.parse(json) as { nftables?: Json[] };
  if (!doc || !Array.isArray(doc.nftables)) throw new Error('not an nftables JSON ruleset (no "nftables" array)');
  const out: NatRule[] = [];
  for (const item of doc.nftables) {
    const rule = (item as { rule?: { family?: string; table?: string; chain?: string; handle?: number; expr?: Json[] } } | null)?.rule;
    if (!rule || !Array.isArray(rule.expr)) continue;
    const stmts = rule.expr.flatMap((e) => (e && typeof e === 'object' && !Array.isArray(e) ? Object.keys(e) : [])).filter((k) => NAT_STMTS.includes(k));
    if (!stmts.length) continue;
    const protos = protocolsOf(rule.expr);
    if (protos.size && !protos.has('sctp')) continue;
    out.push({
      source: 'nft',
      summary: `${rule.family ?? '?'} ${rule.table ?? '?'} ${rule.chain ?? '?'} handle ${rule.handle ?? '?'}: ${stmts.join(', ')} (${protos.has('sctp') ? 'sctp' : 'every protocol'})`,
      explicitSctp: protos.has('sctp'),
    });
  }
  return out;
}

/** `iptables-save` output: whether it is the nf_tables variant (then nft already showed its rules). */
export function iptablesIsNft(text: string): boolean {
  return /^# Generated by (?:ip6?tables-save|iptables-nft-save) v\S+ \(nf_tables\)/m.test(text);
}

/** NAT rules touching SCTP in iptables-save output, by rule tokens in the *nat table. */
export function parseIptablesNat(text: string): NatRule[] {
  const out: NatRule[] = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l.startsWith('*')) table = l.slice(1);
    if (table !== 'nat' || !l.startsWith('-A ')) continue;
    const tok = l.split(/\s+/);
    const j = tok.findIndex((t) => t === '-j' || t === '--jump');
    const target = j >= 0 ? (tok[j + 1] ?? '') : '';
    if (!['SNAT', 'DNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP'].includes(target)) continue;
    const p = tok.findIndex((t) => t === '-p' || t === '--protocol');
    const negated = p > 0 && tok[p - 1] === '!';
    const proto = p >= 0 ? (tok[p + 1] ?? '').toLowerCase() : '';
    const sctp = proto === 'sctp' || proto === '132';
    if (proto && !negated && !sctp) continue;
    if (negated && sctp) continue;
    out.push({ source: 'iptables', summary: `nat ${tok[1]}: ${target} (${sctp && !negated ? 'sctp' : 'every protocol'})`, explicitSctp: sctp && !negated });
  }
  return out;
}

// ---------------------------------------------------------------- checks

const isRhel = (m: { osId: string; osLike: string[] }): boolean => [m.osId, ...m.osLike].some((x) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol'].includes(x));
const isSuse = (m: { osId: string; osLike: string[] }): boolean => [m.osId, ...m.osLike].some((x) => x.includes('suse') || x === 'sles');

const moduleLoaded = (f: DoctorFacts): boolean => !!f.platform && (f.platform.sctpModule || f.platform.sctpBuiltin);

export function checkModuleBlocked(f: DoctorFacts, ff: FieldFacts): CheckResult {
  const r = reporter('field.sctp-module-blocked', 'field');
  const m = ff.modules;
  if (!m) return r('info', 'modprobe configuration not read (a capture: pass --fs-root to check its /etc)');
  const ev = [...m.blocks.map((b) => `${b.file}:${b.line}: ${b.text}`), ...m.skipped];
  if (m.cmdline) ev.push(`kernel command line: ${m.cmdline}`);
  if (!m.blocks.length && !m.cmdline) return r('ok', 'nothing in modprobe.d or on the kernel command line blocks sctp', m.skipped);
  const files = [...new Set(m.blocks.map((b) => b.file))];
  const hard = m.blocks.some((b) => b.kind === 'install') || m.cmdline !== null;
  let remedy = `remove or comment out those lines (${files.join(', ') || 'the kernel command line'}), then \`modprobe sctp\` and list sctp in /etc/modules-load.d/sctp.conf`;
  if (isRhel(m)) remedy = `RHEL/Fedora: kernel-modules-extra ships /etc/modprobe.d/sctp-blacklist.conf; comment out its \`blacklist sctp\` (and any \`install sctp /bin/true\` from hardening: ${files.join(', ')}), then \`modprobe sctp\` and add sctp to /etc/modules-load.d/sctp.conf`;
  else if (isSuse(m)) remedy = `SUSE: remove the lines (${files.join(', ')}); kernel-default-extra holds sctp; then \`modprobe sctp\``;
  if (hard) remedy += '; a CIS hardening profile will put `install sctp /bin/true` back unless SCTP is exempted there';
  if (m.cmdline) remedy += '; drop the kernel command line blacklist from the boot loader configuration and reboot';
  const what = hard ? 'disabled (`install sctp /bin/true` or a boot blacklist: modprobe cannot load it)' : 'blacklisted (not auto-loaded when an application opens an SCTP socket)';
  if (moduleLoaded(f))
    return r('warn', `sctp is loaded now but ${what}: it will be missing after the next reboot`, ev, remedy);
  return r('fail', `sctp is ${what}`, ev, remedy);
}

export function checkModuleInstalled(f: DoctorFacts, ff: FieldFacts): CheckResult {
  const r = reporter('field.sctp-module-installed', 'field');
  const m = ff.modules;
  if (!m) return r('info', 'module tree not read (a capture: pass --fs-root)');
  const found = (m.installed ?? []).map((p) => `/lib/modules/${m.kernelRelease}/${p}`);
  if (moduleLoaded(f)) return r('ok', 'sctp is loaded', found);
  if (m.installed === null) return r('info', `no /lib/modules/${m.kernelRelease ?? '?'} (modules.dep): not checked`);
  if (found.length) return r('ok', 'the sctp module is installed', found);
  const remedy = isRhel(m)
    ? 'RHEL/Fedora: `dnf install kernel-modules-extra-$(uname -r)` (sctp is not in the base kernel package), then `modprobe sctp`'
    : isSuse(m)
      ? 'SUSE: `zypper install kernel-default-extra`, then `modprobe sctp`'
      : 'install the kernel package that carries the sctp module for this kernel (Debian/Ubuntu: linux-image-… / linux-modules-extra-$(uname -r)), then `modprobe sctp`';
  return r('fail', `the sctp module is not installed for kernel ${m.kernelRelease ?? '?'}`, [`no sctp.ko* in /lib/modules/${m.kernelRelease}/modules.dep or modules.builtin`], remedy);
}

const ip4 = (a: string): number | null => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  return m && m.slice(1).every((x) => Number(x) < 256) ? ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0 : null;
};

/** The interface whose connected IPv4 subnet holds addr: where the peer's packets from addr arrive. */
function onLinkDev(ifAddrs: Record<string, string[]>, addr: string): string | null {
  const a = ip4(addr);
  if (a === null) return null;
  for (const [dev, cidrs] of Object.entries(ifAddrs))
    for (const c of cidrs) {
      const [net, len] = c.split('/');
      const n = ip4(net ?? '');
      const bits = Number(len);
      if (n === null || !Number.isInteger(bits) || bits < 1 || bits > 32) continue;
      const mask = bits === 32 ? 0xffffffff : (~(0xffffffff >>> bits)) >>> 0;
      if (((a & mask) >>> 0) === ((n & mask) >>> 0)) return dev;
    }
  return null;
}

/**
 * Strict rp_filter (the kernel uses max(conf/all, conf/<if>)) drops a packet
 * whose source routes out by another interface than it came in on: a peer
 * address on the subnet of one interface but routed out by another loses its
 * path. Strict on a secondary path's own interface is only a latent risk.
 */
export function checkRpFilter(f: DoctorFacts, ff: FieldFacts): CheckResult {
  const r = reporter('field.rp-filter', 'field');
  const rp = ff.rpFilter;
  if (!f.snapshot || !f.routes || !rp) return r('info', 'routes or rp_filter not read (a capture): not checked');
  const eff = (dev: string): number | null => (rp.effective[dev] ? Math.max(rp.effective[dev]!.all, rp.effective[dev]!.iface) : null);
  const conf = (dev: string): string => `conf/all ${rp.effective[dev]!.all}, conf/${dev} ${rp.effective[dev]!.iface}`;
  const drops: string[] = [];
  const strictSecondary: string[] = [];
  const ids: number[] = [];
  const multi = f.snapshot.associations.filter((a) => a.paths.length > 1);
  for (const a of multi) {
    for (const p of a.paths) {
      if (p.address.includes(':')) continue; // IPv6 has no rp_filter
      const route = f.routes.get(p.address);
      if (!route?.dev) continue;
      const link = linkName(f, a);
      const label = `assoc ${a.id}${link ? ` link ${link}` : ''} path ${p.address}${p.primary ? ' (primary)' : ''}`;
      const inDev = onLinkDev(rp.ifAddrs, p.address);
      if (inDev && inDev !== route.dev && eff(inDev) === 1) {
        drops.push(`${label}: route leaves by ${route.dev}, but rp_filter is strict on ${inDev} (${conf(inDev)}), where packets from ${p.address} arrive: they are dropped`);
        ids.push(a.id);
      } else if (!p.primary && eff(route.dev) === 1) strictSecondary.push(`${label} leaves by ${route.dev}: rp_filter strict (${conf(route.dev)})`);
    }
  }
  const remedy = 'set loose reverse-path filtering on the interfaces that carry SCTP paths (`sysctl -w net.ipv4.conf.IF.rp_filter=2`, and conf.all.rp_filter ≤ 2: the kernel uses the larger), or make each peer address route out by the interface its packets arrive on';
  if (drops.length) return r('warn', `strict rp_filter drops a path's packets: its route leaves by another interface than they arrive on`, drops, remedy, ids);
  if (strictSecondary.length)
    return r('info', 'strict rp_filter on an interface carrying a secondary path: routes are symmetric now, a route change will make the path fail', strictSecondary, remedy);
  return r('ok', multi.length ? 'no strict rp_filter in the way of a multi-homed path' : 'no multi-homed association to check');
}

export function checkSctpMem(ff: FieldFacts): CheckResult {
  const r = reporter('field.sctp-mem', 'field');
  const m = ff.sctpMem;
  if (m && m.usedPages !== null && !m.limits)
    // sctp_mem is registered in the initial network namespace only (the accounting is global)
    return r('info', 'net.sctp.sctp_mem is not visible in this network namespace: run doctor in the initial one', [`SCTP memory in use: ${m.usedPages} pages (/proc/net/protocols)`]);
  if (!m || !m.limits || m.usedPages === null) return r('info', 'SCTP memory not readable (/proc/net/protocols SCTP line or net.sctp.sctp_mem missing)');
  const [min, press, max] = m.limits;
  const pct = (n: number, d: number): string => (d > 0 ? `${Math.round((n / d) * 1000) / 10}%` : 'n/a');
  const ev = [`SCTP memory in use: ${m.usedPages} pages (/proc/net/protocols), under pressure: ${m.pressure ?? '?'}`, `net.sctp.sctp_mem = ${min} ${press} ${max} (pages: min, pressure, max)`, `${pct(m.usedPages, press)} of the pressure threshold, ${pct(m.usedPages, max)} of max`];
  const remedy = 'raise net.sctp.sctp_mem (pages; pressure and max) for the number of associations and their buffers, or find the socket that does not read its data (`sctpdiag status`: rx queue)';
  if (m.usedPages >= max) return r('fail', 'SCTP memory at sctp_mem max: new data is dropped', ev, remedy);
  if (m.pressure === 'yes' || m.usedPages >= press) return r('warn', 'SCTP memory under pressure: buffers are trimmed', ev, remedy);
  if (m.usedPages >= press * 0.8) return r('info', `SCTP memory close to the pressure threshold (${pct(m.usedPages, press)})`, ev, remedy);
  return r('ok', `SCTP memory ${pct(m.usedPages, press)} of the pressure threshold`, ev);
}

export function checkIpvs(ff: FieldFacts): CheckResult {
  const r = reporter('field.ipvs-sloppy-sctp', 'field');
  const v = ff.ipvs;
  if (!v) return r('info', 'IPVS not checked (a capture)');
  if (!v.loaded) return r('ok', 'IPVS is not loaded');
  const ev = [`net.ipv4.vs.sloppy_sctp = ${v.sloppySctp ?? '(absent)'}`, ...v.sctpServices.map((s) => `SCTP virtual service ${s}`)];
  if (v.sloppySctp !== '0') return r('ok', 'IPVS creates connections from any SCTP chunk (sloppy_sctp on)', ev);
  const remedy = 'sysctl -w net.ipv4.vs.sloppy_sctp=1 (persist it in /etc/sysctl.d/): IPVS then accepts an association seen first on a secondary path or after a director failover';
  if (v.sctpServices.length)
    return r('warn', `IPVS balances SCTP with sloppy_sctp off: only INIT creates a connection, so a secondary path's HEARTBEAT and traffic after a failover are dropped`, ev, remedy);
  return r('info', 'IPVS loaded with sloppy_sctp off (no SCTP virtual service now)', ev, remedy);
}

const multiHomed = (f: DoctorFacts): Association[] => (f.snapshot?.associations ?? []).filter((a) => a.paths.length > 1);

export function checkConntrack(f: DoctorFacts, ff: FieldFacts): CheckResult {
  const r = reporter('field.conntrack-sctp', 'field');
  const c = ff.conntrack;
  if (!c) return r('info', 'conntrack not checked (a capture)');
  if (!c.loaded) return r('ok', 'nf_conntrack is not loaded: SCTP is not tracked');
  const multi = multiHomed(f);
  const ev = [`nf_conntrack loaded; SCTP tracking sysctls: ${c.sctpSysctls.join(' ') || 'none'}`];
  if (!multi.length) return r('info', 'conntrack tracks SCTP; no multi-homed association now', ev);
  ev.push(...multi.map((a) => `${assocLabel(f, a)}: ${a.paths.length} paths (${a.paths.map((p) => p.address).join(' ')})`));
  return r(
    'info',
    `conntrack tracks SCTP and ${multi.length} association(s) are multi-homed: every path is a separate conntrack entry, a secondary path's first HEARTBEAT is a new flow that stateful rules (ct state new/invalid) and NAT may drop or rewrite`,
    ev,
    'exempt SCTP from tracking where it is only forwarded (`nft add rule … meta l4proto sctp notrack` in a raw/prerouting chain), or allow ct state new for HEARTBEAT on every path',
    multi.map((a) => a.id),
  );
}

export function checkNat(f: DoctorFacts, ff: FieldFacts): CheckResult {
  const r = reporter('field.sctp-nat', 'field');
  const n = ff.nat;
  if (!n) return r('info', 'NAT rules not checked (a capture)');
  const ev = [...n.rules.map((x) => `${x.source}: ${x.summary}`), ...n.unavailable];
  const explicit = n.rules.filter((x) => x.explicitSctp);
  const multi = multiHomed(f);
  const remedy =
    'NAT rewrites the IP header but not the addresses listed in INIT/INIT-ACK: a multi-homed association through it loses its secondary paths (answered with ABORT or out-of-the-blue). Exempt SCTP from NAT (an `accept` for meta l4proto sctp before the nat rule), or run single-homed through NAT';
  if (explicit.length) return r('warn', `${explicit.length} NAT rule(s) match SCTP`, ev, remedy, multi.map((a) => a.id));
  if (n.rules.length && multi.length)
    return r('warn', `${n.rules.length} NAT rule(s) apply to every protocol, SCTP included, and ${multi.length} association(s) are multi-homed`, ev, remedy, multi.map((a) => a.id));
  if (n.rules.length) return r('info', `${n.rules.length} NAT rule(s) apply to every protocol, SCTP included`, ev, remedy);
  return r(n.unavailable.length ? 'info' : 'ok', n.unavailable.length ? 'NAT rules not fully read' : 'no NAT rule touches SCTP', ev);
}

/**
 * ABORTs and out-of-the-blue packets from the SNMP counters (every host has
 * them; the causes and sources are in `trace`, with bpf).
 */
export function checkAbortsOotb(f: DoctorFacts): CheckResult {
  const r = reporter('field.aborts-ootb', 'field');
  const { snapshot, later } = f;
  if (!snapshot) return r('info', 'no snapshot: not checked');
  const names = ['SctpAborteds', 'SctpOutOfBlues'] as const;
  const count = (s: Snapshot, n: string): number => s.snmp[n] ?? 0;
  const ev = names.map((n) => `${n} ${count(snapshot, n)}${later ? ` → ${count(later, n)} in ${f.sampleMs} ms` : ' since boot'}`);
  const remedy =
    'out-of-the-blue packets from a peer\'s secondary address mean something between the hosts does not know the association (NAT, conntrack, IPVS: see the other field checks); `sctpdiag trace --events chunk.abort,chunk.error,packet.ootb` shows each ABORT\'s cause and each out-of-the-blue packet\'s source (bpf)';
  if (later) {
    const grew = names.filter((n) => count(later, n) > count(snapshot, n));
    if (grew.length) return r('warn', `${grew.join(' and ')} grew during ${f.sampleMs} ms`, ev, remedy);
    return r('ok', `no ABORT and no out-of-the-blue packet during ${f.sampleMs} ms`, ev);
  }
  if (names.some((n) => count(snapshot, n) > 0))
    return r('info', 'associations were aborted or out-of-the-blue packets arrived since boot; growth not measured (use --sample MS)', ev, remedy);
  return r('ok', 'no ABORT and no out-of-the-blue packet since boot', ev);
}

const NOT_GATHERED: FieldFacts = { modules: null, rpFilter: null, sctpMem: null, ipvs: null, conntrack: null, nat: null };
const field = (f: DoctorFacts): FieldFacts => f.field ?? NOT_GATHERED;

/** The field checks in report order, as doctor's Check functions. */
export const FIELD_CHECKS: readonly ((f: DoctorFacts) => CheckResult)[] = [
  (f) => checkModuleBlocked(f, field(f)),
  (f) => checkModuleInstalled(f, field(f)),
  (f) => checkRpFilter(f, field(f)),
  (f) => checkSctpMem(field(f)),
  (f) => checkIpvs(field(f)),
  (f) => checkConntrack(f, field(f)),
  (f) => checkNat(f, field(f)),
  checkAbortsOotb,
];
