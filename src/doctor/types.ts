/**
 * Doctor: the facts gathered from the host (gather.ts, the only I/O) and the
 * result every check returns, with its one constructor. Checks (checks.ts) are
 * pure functions of DoctorFacts, so they run on captures and synthetic inputs in tests.
 */
import type { TypeSource } from '../trace/sources.js';
import type { Snapshot } from '../model/snapshot.js';
import type { FieldFacts } from './field.js';
import type { LinkSpec } from '../links/links.js';
import type { DrillRecord } from '../drill/record.js';
import type { Drift } from '../tune/plan.js';
import type { Severity } from '../model/severity.js';

export { SEVERITY_ORDER, type Severity } from '../model/severity.js';

export type CheckCategory = 'platform' | 'sysctl' | 'association' | 'path-diversity' | 'profile' | 'links' | 'field';

export interface CheckResult {
  /** stable identifier, e.g. `sysctl.addip-noauth` (documented in the man page) */
  id: string;
  category: CheckCategory;
  severity: Severity;
  /** one line: what was found */
  title: string;
  /** what the check saw (values, association ids, files) */
  evidence: string[];
  /** what to do, one or two lines; empty for ok */
  remedy: string;
  /** association ids concerned, if any */
  associations?: number[];
  /** the links (links file) those associations belong to, if any */
  links?: string[];
}

/** At most this many evidence lines per result; the rest are summarised. */
const MAX_EVIDENCE = 10;

/** The results of one check: severity, title, then optional evidence, remedy and association ids. */
export type Report = (severity: Severity, title: string, evidence?: string[], remedy?: string, associations?: number[]) => CheckResult;

export function reporter(id: string, category: CheckCategory): Report {
  return (severity, title, evidence = [], remedy = '', associations = []) => {
    const ev = evidence.length > MAX_EVIDENCE ? [...evidence.slice(0, MAX_EVIDENCE), `… and ${evidence.length - MAX_EVIDENCE} more`] : evidence;
    const r: CheckResult = { id, category, severity, title, evidence: ev, remedy };
    if (associations.length) r.associations = [...new Set(associations)].sort((a, b) => a - b);
    return r;
  };
}

export interface PlatformFacts {
  /** /sys/module/sctp exists (or SCTP is built in: /proc/net/sctp exists) */
  sctpModule: boolean;
  sctpBuiltin: boolean;
  sctpDiagModule: boolean;
  /** `bpftrace -V` output, or null when not installed / not runnable */
  bpftraceVersion: string | null;
  /** /sys/kernel/btf/vmlinux */
  btfVmlinux: boolean;
  /** /sys/kernel/btf/sctp (module BTF, needed for typed sctp probes) */
  btfSctp: boolean;
  /** where kprobes are offered: the kprobe PMU or kprobe_events (kernel/tracefs.ts kprobeFiles; this mount namespace's, else the initial one's), or null */
  kprobeEvents: string | null;
  uid: number;
  /** CapEff of this process as a bigint bitmask, or null if unknown */
  capEff: bigint | null;
  /** per event type, where trace/top/metrics would take it from here, and why (null: not assessed, no sctp) */
  eventSources?: TypeSource[] | null;
}

export interface RouteInfo {
  /** peer address looked up */
  dst: string;
  dev: string | null;
  gateway: string | null;
  prefsrc: string | null;
  /** why the lookup failed, if it did */
  error?: string;
}

/** The profile the live sysctls were compared with, and the keys whose live value differs. */
export interface DriftFacts {
  profile: string;
  drifted: Drift[];
}

export interface FailoverFacts {
  /** modelled worst-case time, ms, for a path failure to move traffic */
  failoverMs: number;
  /** how it was modelled (which source, which assumptions) */
  model: string;
}

export interface DoctorFacts {
  /** null when reading a capture (--proc-root): host checks are skipped */
  platform: PlatformFacts | null;
  /** net.sctp.* values by short name; null when unreadable */
  sysctls: Readonly<Record<string, string>> | null;
  snapshot: Snapshot | null;
  /** a second snapshot taken --sample ms later, if requested */
  later: Snapshot | null;
  sampleMs: number | null;
  /** host (netns) addresses, non-loopback; null when unknown (captures) */
  hostAddresses: string[] | null;
  /** route per peer address; null when not looked up (captures) */
  routes: ReadonlyMap<string, RouteInfo> | null;
  /** --failover-target in ms, and the modelled failover */
  failoverTargetMs: number | null;
  failover: FailoverFacts | null;
  /** null: no profile applied / unknown */
  drift: DriftFacts | null;
  /** why drift could not be checked, if it could not */
  driftUnavailable?: string;
  /** modules, rp_filter, sctp_mem, IPVS, conntrack, NAT (field.ts); absent: not gathered */
  field?: FieldFacts;
  /** named links (--links, or /etc/sctpdiag/links.conf); absent or empty: no links file */
  links?: readonly LinkSpec[];
  /** drills that passed (state dir's drills.json; refused: invalid entries dropped); absent: not read (capture) */
  drills?: { records: DrillRecord[]; refused: number; unavailable?: string };
}
