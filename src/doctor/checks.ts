/**
 * The doctor's runbook checks. Each is a pure function of DoctorFacts that
 * returns exactly one CheckResult (ok when nothing is wrong), so the report
 * always lists every check that ran. Per-association problems are grouped by
 * check id: one result naming every association concerned.
 *
 * Per-association findings already derived by the model (Association.findings)
 * are reused, never re-derived. Sysctl cross-key rules come from the catalog
 * (checkRules), so no kernel fact is hard-coded twice.
 */
import { checkRules } from '../kernel/sysctl-catalog.js';
import { isUpState } from '../kernel/enums.js';
import { lastVerified } from '../drill/record.js';
import type { Association, FindingCode, Snapshot } from '../model/snapshot.js';
import { FIELD_CHECKS } from './field.js';
import { groupSources } from '../trace/sources.js';
import { reporter, type CheckResult, type DoctorFacts, type RouteInfo, type Severity } from './types.js';
import { allowed, PRIVILEGED, type Privilege } from '../kernel/privileges.js';
import { assocLabel, checkExpectedLinks, linksOf } from './links.js';

export { checkExpectedLinks };

export type Check = (f: DoctorFacts) => CheckResult;

// ---------------------------------------------------------------- platform

export const checkSctpModule: Check = (f) => {
  const r = reporter('platform.sctp-module', 'platform');
  const p = f.platform;
  if (!p) return r('info', 'platform not checked: reading a capture (--proc-root)');
  if (p.sctpModule || p.sctpBuiltin)
    return r('ok', p.sctpBuiltin && !p.sctpModule ? 'SCTP is built into the kernel' : 'sctp module loaded', [
      p.sctpModule ? '/sys/module/sctp exists' : '/proc/net/sctp exists (built in)',
    ]);
  return r(
    'fail',
    'the sctp module is not loaded',
    ['/sys/module/sctp and /proc/net/sctp are missing'],
    'run `modprobe sctp` (and add `sctp` to /etc/modules-load.d/ to load it at boot); check it is not blacklisted',
  );
};

export const checkSctpDiag: Check = (f) => {
  const r = reporter('platform.sctp-diag', 'platform');
  const p = f.platform;
  if (!p) return r('info', 'not checked: reading a capture');
  if (p.sctpDiagModule) return r('ok', 'sctp_diag loaded (`ss -S` works)', ['/sys/module/sctp_diag exists']);
  return r(
    'warn',
    'sctp_diag is not loaded: `ss -S` shows no SCTP sockets',
    ['/sys/module/sctp_diag is missing'],
    'run `modprobe sctp_diag` (persist it in /etc/modules-load.d/sctp.conf)',
  );
};

export const checkBpftrace: Check = (f) => {
  const r = reporter('platform.bpftrace', 'platform');
  const p = f.platform;
  if (!p) return r('info', 'not checked: reading a capture');
  if (p.bpftraceVersion) return r('ok', `bpftrace present (${p.bpftraceVersion})`);
  return r(
    'info',
    'bpftrace is not installed: live events fall back to procfs polling',
    ['`bpftrace -V` could not be run'],
    'install bpftrace (apt-get install bpftrace) to see every path transition, not only those that last longer than the poll interval',
  );
};

export const checkProbeSupport: Check = (f) => {
  const r = reporter('platform.probes', 'platform');
  const p = f.platform;
  if (!p) return r('info', 'not checked: reading a capture');
  const evidence = [
    `BTF vmlinux: ${p.btfVmlinux ? 'yes' : 'no'} (/sys/kernel/btf/vmlinux)`,
    `BTF sctp module: ${p.btfSctp ? 'yes' : 'no'} (/sys/kernel/btf/sctp)`,
    `kprobes: ${p.kprobeEvents ?? 'no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no kprobe_events in tracefs or debugfs'}`,
  ];
  if (!p.kprobeEvents)
    return r(
      p.bpftraceVersion ? 'warn' : 'info',
      'kernel probes unavailable: bpf events cannot attach to the sctp module',
      evidence,
      'mount tracefs (`mount -t tracefs tracefs /sys/kernel/tracing`); the kernel needs CONFIG_KPROBES and CONFIG_KPROBE_EVENTS',
    );
  const viaKprobes = (p.eventSources ?? []).filter((t) => t.source === 'bpf').map((t) => t.type);
  if (!p.btfSctp && viaKprobes.length)
    return r(
      'info',
      `no BTF for the sctp module: ${viaKprobes.join(', ')} from bpf kprobes with the kernel headers, the other event types from procfs polling`,
      [...evidence, 'without the module\'s BTF, sctpdiag\'s kprobe variants read sctp structs from the kernel headers (/lib/modules/$(uname -r)/source)'],
      'a kernel with BTF for modules (Debian 12+, Ubuntu 22.04+, RHEL 9) gives every bpf event type',
    );
  if (!p.btfVmlinux || !p.btfSctp)
    return r(
      'info',
      'no BTF for the sctp module: no bpf events; trace, top and metrics take every event type from procfs polling',
      [...evidence, 'sctpdiag\'s probes read sctp structs, described only by the module\'s BTF (kernel 5.11+ with CONFIG_DEBUG_INFO_BTF_MODULES)'],
      'a kernel with BTF for modules (Debian 12+, Ubuntu 22.04+, RHEL 9) gives bpf events; until then transitions shorter than the poll interval are missed',
    );
  return r('ok', 'kprobes and BTF for the sctp module available', evidence);
};

/** Per event type: bpf or procfs (or none) on this host, and why; what trace, top and metrics will do. */
export const checkEventSources: Check = (f) => {
  const r = reporter('platform.event-sources', 'platform');
  const list = f.platform?.eventSources;
  if (!list) return r('info', f.platform ? 'not checked: no sctp in this kernel' : 'not checked: reading a capture');
  // one line per source and reason (a line per type would pass the report's evidence cap)
  const evidence = groupSources(list).map((g) => `${g.source}: ${g.types.join(', ')}${g.detail ? ` (${g.detail})` : ''}`);
  // a type no probe produces (local.added) is procfs on every kernel: not this host's shortcoming
  const notBpf = list.filter((t) => t.source !== 'bpf' && t.reason !== 'no-probe');
  if (notBpf.length === 0) return r('ok', 'every event type a probe gives from bpf', evidence);
  const reasons = new Set(notBpf.map((t) => t.reason));
  const remedies: string[] = [];
  if (reasons.has('no-headers')) remedies.push(`install the kernel headers (${notBpf.find((t) => t.reason === 'no-headers')?.detail.match(/linux-headers-\S+/)?.[0] ?? 'linux-headers-$(uname -r)'}) for the kprobe variants`);
  if (reasons.has('no-btf')) remedies.push('a kernel with BTF for modules (5.11+: Debian 12+, Ubuntu 22.04+, RHEL 9) gives bpf events');
  if (reasons.has('no-bpftrace')) remedies.push('install bpftrace');
  if (reasons.has('no-privileges')) remedies.push('run as root (or with CAP_BPF + CAP_PERFMON)');
  return r(
    'info',
    `${notBpf.length} of ${list.length} event types not from bpf: ${[...reasons].join(', ')}`,
    evidence,
    `${remedies.length ? `${remedies.join('; ')}; until then ` : ''}procfs polling misses changes shorter than the interval, and heartbeats, T3 timeouts and SACK metrics`,
  );
};

export const checkHz: Check = (f) => {
  const r = reporter('platform.hz', 'platform');
  const hz = f.snapshot?.hz;
  if (!hz) return r('info', 'CONFIG_HZ not checked: no snapshot');
  const ev = [`CONFIG_HZ=${hz.value} (${hz.source}: ${hz.detail})`];
  if (hz.source === 'assumed')
    return r(
      'warn',
      `CONFIG_HZ unknown, ${hz.value} assumed: RTO and heartbeat times in ms may be wrong`,
      ev,
      'pass --hz N (grep CONFIG_HZ= /boot/config-$(uname -r)), or install the kernel config file',
    );
  if (hz.source === 'inferred')
    return r('info', `CONFIG_HZ=${hz.value} inferred from heartbeat intervals`, ev, 'confirm with --hz N if times look wrong');
  return r('ok', `CONFIG_HZ=${hz.value} known`, ev);
};

export const checkPrivileges: Check = (f) => {
  const r = reporter('platform.privileges', 'platform');
  const p = f.platform;
  if (!p) return r('info', 'not checked: reading a capture');
  const ev = [`uid ${p.uid}`, `CapEff ${p.capEff === null ? 'unknown' : '0x' + p.capEff.toString(16)}`];
  // the rules the commands refuse by (kernel/privileges.ts)
  const limits: string[] = (Object.keys(PRIVILEGED) as Privilege[]).filter((k) => !allowed(k, p)).map((k) => PRIVILEGED[k].without);
  if (p.uid !== 0) limits.push("socket owners of other users' processes are not shown");
  if (limits.length === 0) return r('ok', 'running as root', ev);
  return r(
    'info',
    p.uid === 0 ? 'running as root without some capabilities' : 'not running as root: some checks and features are limited',
    [...ev, ...limits.map((l) => `limits: ${l}`)],
    p.uid === 0 ? 'grant CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) for bpf events (see deploy/)' : 'run with sudo; for bpf events and socket owners alone, grant CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE (see deploy/)',
  );
};

// ---------------------------------------------------------------- sysctl

function sysctlEvidence(f: DoctorFacts, keys: readonly string[]): string[] {
  return keys.map((k) => `net.sctp.${k} = ${f.sysctls?.[k] ?? '(absent)'}`);
}

/** The check `sysctl.<rule>` of one catalog rule; `keys` are its evidence when the rule finds nothing. */
function ruleCheck(rule: string, keys: readonly string[], severity: Severity, okTitle: string, remedy: string): Check {
  const r = reporter(`sysctl.${rule}`, 'sysctl');
  return (f) => {
    if (!f.sysctls) return r('info', 'net.sctp sysctls not readable: not checked');
    const hit = checkRules(f.sysctls).find((x) => x.rule === rule);
    if (!hit) return r('ok', okTitle, sysctlEvidence(f, keys));
    return r(severity, hit.message, sysctlEvidence(f, hit.keys), remedy);
  };
}

export const checkAddipNoauth = ruleCheck(
  'addip-noauth',
  ['addip_noauth_enable'],
  'fail',
  'ASCONF requires SCTP-AUTH (addip_noauth_enable=0)',
  'sysctl -w net.sctp.addip_noauth_enable=0; for dynamic addresses use addip_enable=1 with auth_enable=1 (sctpdiag tune)',
);

export const checkAddipWithoutAuth = ruleCheck(
  'addip-without-auth',
  ['addip_enable', 'auth_enable'],
  'warn',
  'ASCONF is off, or on with SCTP-AUTH',
  'sysctl -w net.sctp.auth_enable=1 (new sockets only: restart the applications), or addip_enable=0',
);

export const checkAutoAsconf = ruleCheck(
  'auto-asconf-without-addip',
  ['default_auto_asconf', 'addip_enable'],
  'warn',
  'default_auto_asconf is consistent with addip_enable',
  'either enable ASCONF securely (addip_enable=1, auth_enable=1) or set default_auto_asconf=0',
);

export const checkPfDisabled = ruleCheck(
  'pf-disabled',
  ['pf_enable', 'pf_retrans', 'path_max_retrans'],
  'warn',
  'the Potentially-Failed state can take effect (pf_retrans + 1 < path_max_retrans)',
  'set pf_retrans to at most path_max_retrans − 2 (e.g. pf_retrans=0 or 1) so traffic leaves a failing path before it is declared INACTIVE',
);

export const checkRtoInitial = ruleCheck(
  'rto-initial-range',
  ['rto_initial', 'rto_min', 'rto_max'],
  'warn',
  'rto_initial lies within [rto_min, rto_max]',
  'set rto_initial between rto_min and rto_max (sctpdiag tune plans the write order)',
);

/** Live multi-homed associations whose Association.Max.Retrans exceeds the sum of their paths' Path.Max.Retrans. */
export const checkAssocMaxRetrans: Check = (f) => {
  const r = reporter('sysctl.assoc-max-retrans', 'sysctl');
  const snap = f.snapshot;
  if (!snap && !f.sysctls) return r('info', 'no snapshot and no sysctls: not checked');
  const multi = snap ? snap.associations.filter((a) => isUpState(a.state) && a.paths.length > 1) : [];
  const bad = multi.filter((a) => a.maxRetrans > a.paths.reduce((s, p) => s + p.maxPathRetrans, 0));
  const remedy =
    'lower association_max_retrans to at most path_max_retrans × paths (or raise path_max_retrans); affects new sockets: restart the applications';
  if (bad.length)
    return r(
      'warn',
      `${bad.length} multi-homed association(s): Association.Max.Retrans > sum of Path.Max.Retrans (RFC 4960 §8.2): every path can be INACTIVE while the association stays up`,
      bad.map((a) => `${assocLabel(f, a)}: max retrans ${a.maxRetrans} > ${a.paths.map((p) => p.maxPathRetrans).join(' + ')}`),
      remedy,
      bad.map((a) => a.id),
    );
  if (multi.length) return r('ok', `${multi.length} multi-homed association(s) respect RFC 4960 §8.2`);
  // no live multi-homed association: judge the sysctls for new two-path associations
  const hit = f.sysctls ? checkRules(f.sysctls, { paths: 2 }).find((x) => x.rule === 'rfc4960-8.2') : undefined;
  if (hit) return r('info', `for new two-path associations: ${hit.message}`, sysctlEvidence(f, hit.keys), remedy);
  return r('ok', 'no live multi-homed association exceeds RFC 4960 §8.2', f.sysctls ? sysctlEvidence(f, ['association_max_retrans', 'path_max_retrans']) : []);
};

export const checkFailoverTarget: Check = (f) => {
  const r = reporter('sysctl.failover-time', 'sysctl');
  if (!f.failover) return r('info', 'failover time not modelled (sysctls unreadable)');
  const ev = [`modelled failover: ${f.failover.failoverMs} ms`, `model: ${f.failover.model}`];
  if (f.failoverTargetMs === null) return r('info', `modelled path failover ${f.failover.failoverMs} ms (no --failover-target given)`, ev);
  ev.push(`target: ${f.failoverTargetMs} ms`);
  if (f.failover.failoverMs > f.failoverTargetMs)
    return r(
      'warn',
      `modelled failover ${f.failover.failoverMs} ms exceeds the target ${f.failoverTargetMs} ms`,
      ev,
      'lower rto_min/rto_max and pf_retrans, or apply a faster profile (`sctpdiag tune --profile …`); rehearse in the lab',
    );
  return r('ok', `modelled failover ${f.failover.failoverMs} ms within the target ${f.failoverTargetMs} ms`, ev);
};

// ---------------------------------------------------------------- associations

/** The associations with a model finding of one of `codes`, and those findings' messages. */
function withFinding(snap: Snapshot, codes: readonly FindingCode[]): { a: Association; messages: string[] }[] {
  return snap.associations
    .map((a) => ({ a, messages: a.findings.filter((x) => codes.includes(x.code)).map((x) => x.message) }))
    .filter((h) => h.messages.length > 0);
}

const NO_SNAPSHOT = 'no snapshot: not checked';

const familyOf = (addr: string): 4 | 6 => (addr.includes(':') ? 6 : 4);

export const checkLocallySingleHomed: Check = (f) => {
  const r = reporter('assoc.locally-single-homed', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const hits = withFinding(f.snapshot, ['locally-single-homed']);
  if (!hits.length) return r('ok', 'no association is locally single-homed toward a multi-homed peer');
  const host = f.hostAddresses;
  // the bind() pitfall matters when the host has another address of the same family to offer
  const pitfall = hits.filter(({ a }) => {
    if (!host) return true;
    const local = a.localAddresses[0]?.address ?? '';
    return host.some((h) => h !== local && familyOf(h) === familyOf(local));
  });
  const ev = hits.map(({ a }) => `${assocLabel(f, a)}: local ${a.localAddresses.map((l) => l.address).join(' ')}; peer ${a.paths.map((p) => p.address).join(' ')}`);
  if (host) ev.push(`host addresses: ${host.join(' ') || 'none'}`);
  if (!pitfall.length)
    return r('info', `${hits.length} association(s) locally single-homed, but the host has no other address to offer`, ev, '', hits.map((h) => h.a.id));
  return r(
    'warn',
    `${pitfall.length} association(s) use one local address while the host has more (the bind() pitfall): a local link failure kills them`,
    ev,
    'bind the socket to every local address (sctp_bindx, or bind to the wildcard address) and restart the application',
    pitfall.map((h) => h.a.id),
  );
};

export const checkPeerSingleHomed: Check = (f) => {
  const r = reporter('assoc.peer-single-homed', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const hits = f.snapshot.associations.filter((a) => isUpState(a.state) && a.paths.length === 1);
  if (!hits.length) return r('ok', 'every established association has more than one peer address');
  return r(
    'info',
    `${hits.length} association(s) with a single-homed peer: no failover is possible`,
    hits.map((a) => `${assocLabel(f, a)}: peer ${a.paths[0]!.address}`),
    'if the peer is meant to be multi-homed, make it bind (or advertise) all of its addresses',
    hits.map((a) => a.id),
  );
};

export const checkPathStates: Check = (f) => {
  const r = reporter('assoc.path-state', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const hits = withFinding(f.snapshot, ['path-inactive', 'path-pf', 'path-unconfirmed']);
  if (!hits.length) return r('ok', 'every path is ACTIVE');
  const severe = f.snapshot.associations.some((a) =>
    a.findings.some((x) => (x.code === 'path-inactive' || x.code === 'path-pf') && x.severity === 'warn'),
  );
  const counts = new Map<string, number>();
  for (const a of f.snapshot.associations) for (const p of a.paths) if (p.state === 'INACTIVE' || p.state === 'PF' || p.state === 'UNCONFIRMED') counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  return r(
    severe ? 'warn' : 'info',
    `paths not ACTIVE: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
    hits.flatMap(({ a, messages }) => messages.map((m) => `${assocLabel(f, a)}: ${m}`)),
    'check the link and route toward each address (`ip route get ADDR`, `ping`), then watch recovery with `sctpdiag trace`',
    hits.map((h) => h.a.id),
  );
};

export const checkPrimaryNotActive: Check = (f) => {
  const r = reporter('assoc.primary-not-active', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const hits = withFinding(f.snapshot, ['primary-not-active']);
  if (!hits.length) return r('ok', 'every association runs on its primary path');
  return r(
    'warn',
    `${hits.length} association(s) run on a backup path: the primary is not ACTIVE`,
    hits.flatMap(({ a, messages }) => messages.map((m) => `${assocLabel(f, a)}: ${m}`)),
    'repair the primary path; traffic returns to it when heartbeats succeed again',
    hits.map((h) => h.a.id),
  );
};

export const checkNoActivePath: Check = (f) => {
  const r = reporter('assoc.no-active-path', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const hits = withFinding(f.snapshot, ['no-active-path']);
  if (!hits.length) return r('ok', 'every established association has a usable path');
  return r(
    'fail',
    `${hits.length} association(s) have no ACTIVE or PF path: they are about to be aborted`,
    hits.map(({ a }) => `${assocLabel(f, a)}: ${a.paths.map((p) => `${p.address} ${p.state}`).join(', ')}`),
    'restore connectivity to the peer now; check `ip route get` for each peer address',
    hits.map((h) => h.a.id),
  );
};

export const checkRetransmissions: Check = (f) => {
  const r = reporter('assoc.retransmissions', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  if (!f.later) {
    const hits = withFinding(f.snapshot, ['retransmissions']);
    return r(
      'info',
      hits.length
        ? `${hits.length} association(s) have retransmitted since they started; growth not measured (use --sample MS)`
        : 'no retransmissions so far; growth not measured (use --sample MS)',
      hits.map(({ a, messages }) => `${assocLabel(f, a)}: ${messages.join('; ')}`),
      '',
      hits.map((h) => h.a.id),
    );
  }
  const before = new Map(f.snapshot.associations.map((a) => [a.key, a]));
  const grew: { a: Association; delta: number }[] = [];
  for (const a of f.later.associations) {
    const b = before.get(a.key);
    if (b && a.retransmittedChunks > b.retransmittedChunks) grew.push({ a, delta: a.retransmittedChunks - b.retransmittedChunks });
  }
  const t3 = (s: Snapshot) => s.snmp['SctpT3Retransmits'] ?? 0;
  const snmpDelta = t3(f.later) - t3(f.snapshot);
  const ev = grew.map(({ a, delta }) => `${assocLabel(f, a)}: +${delta} retransmitted chunk(s) in ${f.sampleMs} ms`);
  ev.push(`SctpT3Retransmits: +${snmpDelta} in ${f.sampleMs} ms`);
  if (!grew.length && snmpDelta <= 0) return r('ok', `no retransmissions during ${f.sampleMs} ms`, ev);
  return r(
    'warn',
    `retransmissions growing: ${grew.length} association(s), SctpT3Retransmits +${snmpDelta} in ${f.sampleMs} ms`,
    ev,
    'look for loss on the active path (`sctpdiag trace`, interface error counters); a lossy primary may need a manual switch',
    grew.map((g) => g.a.id),
  );
};

/** hb_interval / association_max_retrans / path_max_retrans as the association got them vs the sysctls now. */
export const checkStaleSettings: Check = (f) => {
  const r = reporter('assoc.stale-settings', 'association');
  if (!f.snapshot) return r('info', NO_SNAPSHOT);
  const sysctls = f.sysctls;
  if (!sysctls) return r('info', 'sysctls unreadable: not checked');
  const num = (k: string): number | null => {
    const v = sysctls[k];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  const hb = num('hb_interval');
  const amr = num('association_max_retrans');
  const pmr = num('path_max_retrans');
  // HBINT is printed in jiffies: allow one jiffy of rounding
  const jiffyMs = 1000 / f.snapshot.hz.value;
  const stale: { a: Association; diffs: string[] }[] = [];
  for (const a of f.snapshot.associations) {
    if (!isUpState(a.state)) continue;
    const diffs: string[] = [];
    if (hb !== null && Math.abs(a.heartbeatIntervalMs - hb) > jiffyMs) diffs.push(`hb interval ${a.heartbeatIntervalMs} ms ≠ hb_interval ${hb}`);
    if (amr !== null && a.maxRetrans !== amr) diffs.push(`max retrans ${a.maxRetrans} ≠ association_max_retrans ${amr}`);
    const pmrs = [...new Set(a.paths.map((p) => p.maxPathRetrans))];
    if (pmr !== null && pmrs.some((v) => v !== pmr)) diffs.push(`path max retrans ${pmrs.join('/')} ≠ path_max_retrans ${pmr}`);
    if (diffs.length) stale.push({ a, diffs });
  }
  if (!stale.length) return r('ok', 'every association uses the current hb_interval and retransmission limits');
  return r(
    'warn',
    `${stale.length} association(s) use settings that differ from the current sysctls (created before a tune, or set by the application)`,
    stale.map(({ a, diffs }) => `${assocLabel(f, a)}: ${diffs.join('; ')}`),
    'these values are copied when a socket is created: restart the application to pick up the sysctls (unless it sets them itself with SCTP_PEER_ADDR_PARAMS / SCTP_ASSOCINFO)',
    stale.map((s) => s.a.id),
  );
};

// ---------------------------------------------------------------- path diversity

const routeKey = (r: RouteInfo): string => `${r.dev ?? '?'} via ${r.gateway ?? 'direct (on-link)'}`;

export const checkPathDiversity: Check = (f) => {
  const r = reporter('paths.shared-route', 'path-diversity');
  if (!f.snapshot) return r('info', 'no snapshot: not checked');
  const routes = f.routes;
  if (!routes) return r('info', 'routes not looked up (reading a capture): path diversity not checked');
  const multi = f.snapshot.associations.filter((a) => a.paths.length > 1);
  const shared: { a: Association; lines: string[] }[] = [];
  const failed = new Set<string>();
  for (const a of multi) {
    const groups = new Map<string, string[]>();
    for (const p of a.paths) {
      const route = routes.get(p.address);
      if (!route || route.error || !route.dev) {
        failed.add(p.address);
        continue;
      }
      const k = routeKey(route);
      groups.set(k, [...(groups.get(k) ?? []), p.address]);
    }
    const lines = [...groups].filter(([, addrs]) => addrs.length > 1).map(([k, addrs]) => `${addrs.join(' and ')} all leave through ${k}`);
    if (lines.length) shared.push({ a, lines });
  }
  const ev = shared.map(({ a, lines }) => `${assocLabel(f, a)}: ${lines.join('; ')}`);
  for (const addr of failed) ev.push(`route to ${addr}: ${routes.get(addr)?.error ?? 'not found'}`);
  if (shared.length)
    return r(
      'warn',
      `${shared.length} multi-homed association(s) send several paths through the same interface and next hop: multi-homing that does not survive a link failure`,
      ev,
      'add a route per peer address through a different interface (e.g. `ip route add PEER/32 dev eth1`), or use addresses in different subnets',
      shared.map((s) => s.a.id),
    );
  if (!multi.length) return r('ok', 'no multi-homed association to check');
  return r(failed.size ? 'info' : 'ok', `${multi.length} multi-homed association(s): every path leaves through its own interface or next hop`, ev);
};

// ---------------------------------------------------------------- profile drift

export const checkProfileDrift: Check = (f) => {
  const r = reporter('profile.drift', 'profile');
  if (!f.drift) return r('info', f.driftUnavailable ?? 'no profile applied: drift not checked');
  if (!f.drift.drifted.length) return r('ok', `live values match profile ${f.drift.profile}`);
  return r(
    'warn',
    `${f.drift.drifted.length} sysctl(s) drifted from profile ${f.drift.profile}`,
    f.drift.drifted.map((d) => `net.sctp.${d.key}: profile ${d.expected}, live ${d.actual ?? '(absent)'}`),
    `find who changed them (sysctl.d files, config management), then \`sctpdiag tune --profile ${f.drift.profile} --apply\` and restart affected applications`,
  );
};

/** Multi-homed associations no passed `sctpdiag drill` (state dir's drills.json) has verified. */
export const checkFailoverVerified: Check = (f) => {
  const r = reporter('assoc.failover-unverified', 'association');
  const { snapshot, drills } = f;
  if (!snapshot) return r('info', NO_SNAPSHOT);
  if (!drills) return r('info', 'drill records not read (a capture): failover verification not checked');
  const multi = snapshot.associations.filter((a) => isUpState(a.state) && a.paths.length > 1);
  const ev: string[] = [];
  if (drills.unavailable) ev.push(drills.unavailable);
  if (drills.refused) ev.push(`${drills.refused} invalid drill record(s) ignored`);
  const never = multi.filter((a) => !lastVerified(drills.records, { netns: snapshot.netns, localPort: a.localPort, peerPort: a.peerPort, paths: a.paths }));
  if (!never.length)
    return r('ok', multi.length ? `failover verified by a drill on every multi-homed association (${multi.length})` : 'no multi-homed association to verify', ev);
  return r(
    'info',
    `failover never verified on ${never.length} multi-homed association(s): no \`sctpdiag drill\` passed on this link/association`,
    [...never.map((a) => `${assocLabel(f, a)}: failover never verified on this link/association (paths ${a.paths.map((p) => p.address).join(' ')})`), ...ev],
    'in a maintenance window: `sctpdiag drill --assoc ID --path ADDR` (or --link NAME) dry run, then with --yes; see "Runbook: proving failover with drill" in sctpdiag(8)',
    never.map((a) => a.id),
  );
};

/** Every check, in report order. */
export const CHECKS: readonly Check[] = [
  checkSctpModule,
  checkSctpDiag,
  checkBpftrace,
  checkProbeSupport,
  checkEventSources,
  checkHz,
  checkPrivileges,
  checkAddipNoauth,
  checkAddipWithoutAuth,
  checkAutoAsconf,
  checkPfDisabled,
  checkRtoInitial,
  checkAssocMaxRetrans,
  checkFailoverTarget,
  checkLocallySingleHomed,
  checkPeerSingleHomed,
  checkPathStates,
  checkPrimaryNotActive,
  checkNoActivePath,
  checkRetransmissions,
  checkStaleSettings,
  checkPathDiversity,
  checkFailoverVerified,
  checkProfileDrift,
  checkExpectedLinks,
  ...FIELD_CHECKS,
];

export function runChecks(f: DoctorFacts): CheckResult[] {
  const out = CHECKS.map((c) => {
    const r = c(f);
    // the links file's names of the associations concerned (JSON; the evidence names them too)
    const links = linksOf(f, r.associations ?? []);
    return links.length ? { ...r, links } : r;
  });
  if (f.platform) return out;
  // in a capture, collapse the platform "not checked" lines into one
  const skipped = (r: CheckResult): boolean => r.category === 'platform' && r.id !== 'platform.hz';
  const rest = out.filter((r) => !skipped(r));
  if (rest.length < out.length) rest.unshift(reporter('platform', 'platform')('info', 'platform not checked: reading a capture (--proc-root)'));
  return rest;
}
