/**
 * The net.sctp.* sysctl catalog: the single source of truth for every key the
 * Linux kernel (6.1 … 6.18) exposes under /proc/sys/net/sctp, and for the rules
 * the kernel enforces between them. Nothing else in sctpdiag hard-codes a
 * kernel fact about these keys.
 *
 * Sources: net/sctp/sysctl.c (handlers, ranges, cross-key bounds),
 * net/sctp/protocol.c (defaults), net/sctp/socket.c sctp_init_sock() and
 * net/sctp/endpointola.c (which values are copied into a socket/endpoint at
 * creation), Documentation/networking/ip-sysctl.rst, and a real capture of a
 * Debian 6.1 kernel (test/fixtures/linux-6.1/sysctl_defaults.txt).
 */
import { pfReachable } from './pf.js';

export type SysctlType = 'int' | 'bool' | 'enum' | 'string' | 'triple';
export type SysctlUnit = 'ms' | 's' | 'count' | 'bool' | 'enum' | 'port' | 'shift' | 'divisor' | 'pages' | 'bytes' | 'string';
/**
 * live: the kernel reads the netns value every time it is used, so a write acts at once.
 * new-sockets: the value is copied into a socket/endpoint when it is created; existing
 * sockets (and their associations) keep the old value until the application re-creates them.
 */
export type SysctlEffect = 'live' | 'new-sockets';
/** netns: one value per network namespace; init-netns: exists only in the initial netns (global). */
export type SysctlScope = 'netns' | 'init-netns';

export interface SysctlKey {
  /** file name under /proc/sys/net/sctp */
  name: string;
  type: SysctlType;
  unit: SysctlUnit;
  /**
   * kernel default as printed by the kernel, or null when it depends on the
   * machine (memory size, CONFIG_HZ, kernel config) — see defaultFor()
   */
  default: string | null;
  /** inclusive numeric bounds we accept (int/bool/enum); cross-key bounds are in RULES */
  min?: number;
  max?: number;
  /** the kernel itself enforces [min,max] (proc_dointvec_minmax or a custom handler); false for plain proc_dointvec */
  kernelEnforced: boolean;
  /** values for enum-like integers or strings (meaning of each) */
  values?: Readonly<Record<string, string>>;
  scope: SysctlScope;
  effect: SysctlEffect;
  /** first kernel (major.minor) in the 6.1 … 6.18 window that has the key */
  since: string;
  /** the key is registered only with this kernel config option */
  requiresConfig?: string;
  /** one-line meaning */
  meaning: string;
  /** extra fact worth showing an operator */
  note?: string;
}

/** 86400000 ms (one day): timer_max in net/sctp/sysctl.c */
export const TIMER_MAX_MS = 86_400_000;
export const INT_MAX = 2_147_483_647;
export const UINT_MAX = 4_294_967_295;
/** SCTP_PS_RETRANS_MAX */
export const PS_RETRANS_MAX = 65_535;
/** SCTP_PROBE_TIMER_MIN: plpmtud_probe_interval must be 0 or at least this */
export const PROBE_TIMER_MIN_MS = 5_000;

const B = { type: 'bool', unit: 'bool', min: 0, max: 1, kernelEnforced: false, scope: 'netns', since: '6.1' } as const;
const onOff = { '0': 'disabled', '1': 'enabled' } as const;

/** Every net.sctp key, alphabetical (the order `sctpdiag sysctl` prints). */
export const catalog: readonly SysctlKey[] = [
  { ...B, name: 'addip_enable', default: '0', values: onOff, effect: 'new-sockets',
    meaning: 'Dynamic Address Reconfiguration (ASCONF, RFC 5061) for new endpoints',
    note: 'without auth_enable=1 peers will not accept ASCONF (RFC 5061 requires AUTH)' },
  { ...B, name: 'addip_noauth_enable', default: '0', values: onOff, effect: 'live',
    meaning: 'accept and send ASCONF chunks without SCTP-AUTH',
    note: 'insecure: anyone who can spoof the peer address can add an address and hijack the association' },
  { name: 'addr_scope_policy', type: 'enum', unit: 'enum', default: '1', min: 0, max: 3, kernelEnforced: true,
    values: { '0': 'IPv4 scoping disabled', '1': 'IPv4 scoping enabled', '2': 'scoping, but allow private addresses', '3': 'scoping, but allow link-local addresses' },
    scope: 'netns', effect: 'live', since: '6.1', meaning: 'which local IPv4 addresses are put in INIT/INIT-ACK (address scoping)' },
  { name: 'association_max_retrans', type: 'int', unit: 'count', default: '10', min: 1, max: INT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1',
    meaning: 'Association.Max.Retrans: consecutive retransmissions over all paths before the association is aborted',
    note: 'RFC 4960 §8.2: keep it ≤ the sum of path_max_retrans over the peer\'s paths' },
  { ...B, name: 'auth_enable', default: '0', values: onOff, effect: 'new-sockets',
    meaning: 'SCTP-AUTH (RFC 4895) for new endpoints; required for secure ASCONF' },
  { name: 'cookie_hmac_alg', type: 'string', unit: 'string', default: null, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1',
    meaning: 'HMAC protecting the state cookie sent in INIT-ACK by listening sockets',
    note: 'before 6.18: md5 | sha1 | none (as built; default from CONFIG_SCTP_DEFAULT_COOKIE_HMAC_*); from 6.18: sha256 | none, default sha256' },
  { ...B, name: 'cookie_preserve_enable', default: '1', values: onOff, effect: 'live',
    meaning: 'Cookie Preservative parameter (ask the peer for a longer cookie life after a stale cookie)' },
  { ...B, name: 'default_auto_asconf', default: '0', values: onOff, effect: 'new-sockets',
    meaning: 'new sockets bound to the wildcard address follow local address changes with ASCONF',
    note: 'only wildcard-bound sockets; needs addip_enable=1 (and auth_enable=1 to be accepted by peers)' },
  { ...B, name: 'ecn_enable', default: '1', values: onOff, effect: 'new-sockets',
    meaning: 'Explicit Congestion Notification support for new endpoints' },
  { name: 'encap_port', type: 'int', unit: 'port', default: '0', min: 0, max: 65_535, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1',
    meaning: 'remote UDP encapsulation port (RFC 6951) used by new sockets; 0 = no encapsulation' },
  { name: 'hb_interval', type: 'int', unit: 'ms', default: '30000', min: 1, max: TIMER_MAX_MS, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1',
    meaning: 'HB.interval: idle time between heartbeats on a path (plus RTO with jitter)' },
  { ...B, name: 'intl_enable', default: '0', values: onOff, effect: 'new-sockets',
    meaning: 'user message interleaving (I-DATA, RFC 8260) for new endpoints' },
  { ...B, name: 'l3mdev_accept', default: '1', values: onOff, kernelEnforced: true, effect: 'live', since: '6.2',
    requiresConfig: 'CONFIG_NET_L3_MASTER_DEV',
    meaning: 'sockets not bound to a VRF accept packets arriving through any L3 master device (VRF)' },
  { name: 'max_autoclose', type: 'int', unit: 's', default: null, min: 0, max: UINT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'live', since: '6.1',
    meaning: 'upper bound for the SCTP_AUTOCLOSE socket option (seconds)',
    note: 'default INT_MAX / CONFIG_HZ (8589934 at HZ=250); applied when an application sets SCTP_AUTOCLOSE' },
  { name: 'max_burst', type: 'int', unit: 'count', default: '4', min: 0, max: INT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'Max.Burst: packets sent at once by one transmission opportunity; 0 = no limit' },
  { name: 'max_init_retransmits', type: 'int', unit: 'count', default: '8', min: 1, max: INT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'Max.Init.Retransmits: INIT / COOKIE-ECHO retransmissions before giving up' },
  { name: 'path_max_retrans', type: 'int', unit: 'count', default: '5', min: 1, max: INT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'Path.Max.Retrans: consecutive timeouts on a path before it is marked INACTIVE' },
  { ...B, name: 'pf_enable', default: '1', values: onOff, effect: 'live',
    meaning: 'Potentially-Failed path state (RFC 7829): move traffic off a path after pf_retrans timeouts',
    note: 'PF is also off when pf_retrans + 1 ≥ path_max_retrans (src/kernel/pf.ts)' },
  { name: 'pf_expose', type: 'enum', unit: 'enum', default: '0', min: 0, max: 2, kernelEnforced: true,
    values: { '0': 'unset (legacy): no PF event, PF paths still shown by SCTP_GET_PEER_ADDR_INFO', '1': 'disabled: no PF event, PF paths hidden from SCTP_GET_PEER_ADDR_INFO', '2': 'enabled: SCTP_ADDR_POTENTIALLY_FAILED event and PF state in SCTP_GET_PEER_ADDR_INFO' },
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'whether the PF state is exposed to applications' },
  { name: 'pf_retrans', type: 'int', unit: 'count', default: '0', min: 0, max: PS_RETRANS_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'timeouts on a path before it enters PF (traffic moves to another path)',
    note: 'kernel bound: 0 ≤ pf_retrans ≤ ps_retrans' },
  { name: 'plpmtud_probe_interval', type: 'int', unit: 'ms', default: '0', min: 0, max: INT_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'Packetization Layer PMTU discovery probe interval; 0 = PLPMTUD off',
    note: 'kernel accepts 0 or ≥ 5000' },
  { ...B, name: 'prsctp_enable', default: '1', values: onOff, effect: 'new-sockets',
    meaning: 'Partial Reliability (PR-SCTP, RFC 3758) for new endpoints' },
  { name: 'ps_retrans', type: 'int', unit: 'count', default: '65535', min: 0, max: PS_RETRANS_MAX, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1',
    meaning: 'Primary Path Switchover: timeouts before the primary is permanently switched away; 65535 = never',
    note: 'kernel bound: pf_retrans ≤ ps_retrans ≤ 65535' },
  { ...B, name: 'rcvbuf_policy', default: '0', values: { '0': 'receive buffer per socket', '1': 'receive buffer per association' }, effect: 'new-sockets',
    meaning: 'receive buffer accounting: per socket (0) or per association (1)' },
  { ...B, name: 'reconf_enable', default: '0', values: onOff, effect: 'new-sockets',
    meaning: 'Stream Reconfiguration (RE-CONFIG, RFC 6525) for new endpoints' },
  { name: 'rto_alpha_exp_divisor', type: 'int', unit: 'divisor', default: '3', min: 0, max: 1000, kernelEnforced: true,
    scope: 'netns', effect: 'live', since: '6.1', meaning: 'RTO.Alpha as a power-of-two divisor (3 = 1/8) for SRTT smoothing',
    note: 'the kernel warns that changing it may give poor RTT estimates' },
  { name: 'rto_beta_exp_divisor', type: 'int', unit: 'divisor', default: '2', min: 0, max: 1000, kernelEnforced: true,
    scope: 'netns', effect: 'live', since: '6.1', meaning: 'RTO.Beta as a power-of-two divisor (2 = 1/4) for RTTVAR smoothing',
    note: 'the kernel warns that changing it may give poor RTT estimates' },
  { name: 'rto_initial', type: 'int', unit: 'ms', default: '3000', min: 1, max: TIMER_MAX_MS, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'RTO.Initial: retransmission timeout before the first RTT measurement (INIT, first DATA)' },
  { name: 'rto_max', type: 'int', unit: 'ms', default: '60000', min: 1, max: TIMER_MAX_MS, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'RTO.Max: ceiling of the exponentially backed-off retransmission timeout',
    note: 'kernel bound: rto_min ≤ rto_max ≤ 86400000' },
  { name: 'rto_min', type: 'int', unit: 'ms', default: '1000', min: 1, max: TIMER_MAX_MS, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'RTO.Min: floor of the retransmission timeout (sets failure detection speed on low-RTT links)',
    note: 'kernel bound: 1 ≤ rto_min ≤ rto_max' },
  { name: 'rwnd_update_shift', type: 'int', unit: 'shift', default: '4', min: 1, max: 16, kernelEnforced: true,
    scope: 'netns', effect: 'live', since: '6.1', meaning: 'send a window update SACK when the window opens by rcvbuf >> shift' },
  { name: 'sack_timeout', type: 'int', unit: 'ms', default: '200', min: 1, max: 500, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'delayed SACK timer' },
  { name: 'sctp_mem', type: 'triple', unit: 'pages', default: null, min: 0, kernelEnforced: false,
    scope: 'init-netns', effect: 'live', since: '6.1', meaning: 'min pressure max: memory (pages) all SCTP sockets may use',
    note: 'exists only in the initial netns; default sized from RAM at boot' },
  { name: 'sctp_rmem', type: 'triple', unit: 'bytes', default: null, min: 0, kernelEnforced: false,
    scope: 'init-netns', effect: 'new-sockets', since: '6.1', meaning: 'min default max receive buffer per socket (bytes)',
    note: 'exists only in the initial netns; max sized from RAM at boot' },
  { name: 'sctp_wmem', type: 'triple', unit: 'bytes', default: null, min: 0, kernelEnforced: false,
    scope: 'init-netns', effect: 'new-sockets', since: '6.1', meaning: 'min default max send buffer per socket (bytes)',
    note: 'exists only in the initial netns; max sized from RAM at boot' },
  { ...B, name: 'sndbuf_policy', default: '0', values: { '0': 'send buffer per socket', '1': 'send buffer per association' }, effect: 'new-sockets',
    meaning: 'send buffer accounting: per socket (0) or per association (1)' },
  { name: 'udp_port', type: 'int', unit: 'port', default: '0', min: 0, max: 65_535, kernelEnforced: true,
    scope: 'netns', effect: 'live', since: '6.1',
    meaning: 'local UDP port of the netns SCTP-over-UDP (RFC 6951) listener; 0 = off',
    note: 'a write restarts the listener; the kernel rejects a port that cannot be bound' },
  { name: 'valid_cookie_life', type: 'int', unit: 'ms', default: '60000', min: 1, max: TIMER_MAX_MS, kernelEnforced: true,
    scope: 'netns', effect: 'new-sockets', since: '6.1', meaning: 'Valid.Cookie.Life: lifetime of the state cookie' },
];

const byName = new Map(catalog.map((k) => [k.name, k]));

/** Strip an optional `net.sctp.` / `net/sctp/` prefix. */
export function shortName(name: string): string {
  return name.trim().replace(/^net[./]sctp[./]/, '');
}

/** The catalog entry for `rto_min` or `net.sctp.rto_min`, or undefined. */
export function lookupKey(name: string): SysctlKey | undefined {
  return byName.get(shortName(name));
}

export function fullName(name: string): string {
  return `net.sctp.${shortName(name)}`;
}

export interface KernelInfo {
  /** `uname -r`, e.g. 6.1.0-56-amd64 */
  release?: string | null;
  /** CONFIG_HZ */
  hz?: number | null;
}

/** [major, minor] of a kernel release string, or null. */
export function kernelVersion(release: string | null | undefined): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function atLeast(release: string | null | undefined, major: number, minor: number): boolean | null {
  const v = kernelVersion(release);
  if (!v) return null;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** Values cookie_hmac_alg accepts on this kernel (union when the kernel is unknown). */
export function cookieHmacValues(kernel: KernelInfo = {}): string[] {
  const new618 = atLeast(kernel.release, 6, 18);
  if (new618 === true) return ['sha256', 'none'];
  if (new618 === false) return ['md5', 'sha1', 'none'];
  return ['sha256', 'md5', 'sha1', 'none'];
}

/** The kernel default for this machine, or null when it cannot be known (memory-sized, config-dependent). */
export function defaultFor(key: SysctlKey, kernel: KernelInfo = {}): string | null {
  if (key.default !== null) return key.default;
  if (key.name === 'max_autoclose' && kernel.hz) return String(Math.floor(INT_MAX / kernel.hz));
  if (key.name === 'cookie_hmac_alg' && atLeast(kernel.release, 6, 18) === true) return 'sha256';
  return null;
}

/** Canonical text of a value as the kernel prints it (single spaces inside triples). */
export function normaliseValue(raw: string): string {
  return raw.trim().split(/\s+/).join(' ');
}

export type Validation = { ok: true; value: string } | { ok: false; error: string };

const INT_RE = /^-?\d+$/;

/**
 * Check one value for one key on its own (type, range, allowed strings).
 * Cross-key rules (rto_min ≤ rto_max, pf_retrans ≤ ps_retrans …) are checkRules().
 */
export function validateValue(name: string, raw: string, kernel: KernelInfo = {}): Validation {
  const key = lookupKey(name);
  if (!key) return { ok: false, error: `unknown key net.sctp.${shortName(name)}` };
  const v = normaliseValue(raw);
  if (v === '') return { ok: false, error: `empty value for ${key.name}` };
  if (key.type === 'string') {
    const allowed = key.name === 'cookie_hmac_alg' ? cookieHmacValues(kernel) : [];
    if (!allowed.includes(v)) return { ok: false, error: `${key.name}: "${v}" is not one of ${allowed.join(', ')}` };
    return { ok: true, value: v };
  }
  if (key.type === 'triple') {
    const parts = v.split(' ');
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p)))
      return { ok: false, error: `${key.name}: expected three non-negative integers "min pressure max", got "${v}"` };
    const [a, b, c] = parts.map(Number) as [number, number, number];
    if (!parts.every((p) => Number(p) <= (key.name === 'sctp_mem' ? Number.MAX_SAFE_INTEGER : INT_MAX)))
      return { ok: false, error: `${key.name}: value too large` };
    if (!(a <= b && b <= c)) return { ok: false, error: `${key.name}: expected min ≤ default/pressure ≤ max, got "${v}"` };
    return { ok: true, value: v };
  }
  if (!INT_RE.test(v)) return { ok: false, error: `${key.name}: "${v}" is not an integer` };
  const n = Number(v);
  const min = key.min ?? -INT_MAX - 1;
  const max = key.max ?? INT_MAX;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    return { ok: false, error: `${key.name}: ${v} is out of range ${min}..${max}${key.unit === 'ms' ? ' ms' : ''}` };
  if (key.name === 'plpmtud_probe_interval' && n !== 0 && n < PROBE_TIMER_MIN_MS)
    return { ok: false, error: `plpmtud_probe_interval: must be 0 (off) or at least ${PROBE_TIMER_MIN_MS} ms, got ${n}` };
  return { ok: true, value: String(n) };
}

export interface RuleFinding {
  level: 'error' | 'warn';
  /** short stable identifier */
  rule: string;
  keys: string[];
  message: string;
}

/** Lower ≤ upper bounds the kernel enforces between two keys (write order matters). */
export const ORDER_CONSTRAINTS: ReadonlyArray<{ lower: string; upper: string }> = [
  { lower: 'rto_min', upper: 'rto_max' },
  { lower: 'pf_retrans', upper: 'ps_retrans' },
];

const num = (vals: Readonly<Record<string, string | undefined>>, k: string): number | undefined => {
  const s = vals[k];
  if (s === undefined || !INT_RE.test(s.trim())) return undefined;
  return Number(s);
};

/**
 * Rules over a full set of values (the final state after a plan). `paths` is the
 * number of peer paths assumed for RFC 4960 §8.2 (default 2).
 * Errors are what the kernel would reject; warnings are legal but unwise.
 */
export function checkRules(vals: Readonly<Record<string, string | undefined>>, opts: { paths?: number } = {}): RuleFinding[] {
  const out: RuleFinding[] = [];
  const g = (k: string) => num(vals, k);
  const rtoMin = g('rto_min'), rtoMax = g('rto_max'), rtoInit = g('rto_initial');
  if (rtoMin !== undefined && rtoMax !== undefined && rtoMin > rtoMax)
    out.push({ level: 'error', rule: 'rto-order', keys: ['rto_min', 'rto_max'], message: `rto_min (${rtoMin}) must be ≤ rto_max (${rtoMax}); the kernel rejects it` });
  const pf = g('pf_retrans'), ps = g('ps_retrans'), pmr = g('path_max_retrans');
  if (pf !== undefined && ps !== undefined && pf > ps)
    out.push({ level: 'error', rule: 'pf-ps-order', keys: ['pf_retrans', 'ps_retrans'], message: `pf_retrans (${pf}) must be ≤ ps_retrans (${ps}); the kernel rejects it` });
  if (rtoInit !== undefined && rtoMin !== undefined && rtoMax !== undefined && (rtoInit < rtoMin || rtoInit > rtoMax))
    out.push({ level: 'warn', rule: 'rto-initial-range', keys: ['rto_initial', 'rto_min', 'rto_max'], message: `rto_initial (${rtoInit}) is outside [rto_min, rto_max] = [${rtoMin}, ${rtoMax}]; the first RTO is clamped only after an RTT sample` });
  if (pf !== undefined && pmr !== undefined && vals.pf_enable !== '0' && !pfReachable({ pfEnable: true, pfRetrans: pf, pathMaxRetrans: pmr }))
    out.push({ level: 'warn', rule: 'pf-disabled', keys: ['pf_retrans', 'path_max_retrans'], message: `pf_retrans (${pf}) ≥ path_max_retrans − 1 (${pmr - 1}) silently disables the PF state (the kernel needs pf_retrans < error count < path_max_retrans): a failing path goes straight to INACTIVE` });
  if (vals.addip_enable === '1' && vals.auth_enable === '0')
    out.push({ level: 'warn', rule: 'addip-without-auth', keys: ['addip_enable', 'auth_enable'], message: 'addip_enable=1 with auth_enable=0: RFC 5061 requires AUTH, peers will reject unauthenticated ASCONF (and accepting it is a hijack risk)' });
  if (vals.default_auto_asconf === '1' && vals.addip_enable === '0')
    out.push({ level: 'warn', rule: 'auto-asconf-without-addip', keys: ['default_auto_asconf', 'addip_enable'], message: 'default_auto_asconf=1 has no effect while addip_enable=0' });
  if (vals.addip_noauth_enable === '1')
    out.push({ level: 'warn', rule: 'addip-noauth', keys: ['addip_noauth_enable'], message: 'addip_noauth_enable=1 accepts unauthenticated ASCONF: an off-path attacker can add addresses and hijack associations' });
  const amr = g('association_max_retrans');
  const paths = opts.paths ?? 2;
  if (amr !== undefined && pmr !== undefined && amr > pmr * paths)
    out.push({ level: 'warn', rule: 'rfc4960-8.2', keys: ['association_max_retrans', 'path_max_retrans'], message: `association_max_retrans (${amr}) > path_max_retrans × ${paths} paths (${pmr * paths}): every path can be INACTIVE while the association still looks alive (RFC 4960 §8.2)` });
  return out;
}
