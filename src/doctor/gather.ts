/**
 * The doctor's only I/O: gather DoctorFacts from the host (or a capture).
 * Every filesystem location sits under an injectable root and every external
 * command goes through an injectable runner (argv arrays, never a shell), so
 * tests build fake hosts in a temp dir.
 */
import { parseCapEff } from '../kernel/privileges.js';
import { INITIAL_SYS_ROOT, kprobeFiles } from '../kernel/tracefs.js';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { EXIT, SctpdiagError } from '../errors.js';
import { readRegularFileOrNull } from '../safefs.js';
import { readSysctls } from '../procfs/sysctls.js';
import { modelFailover, paramsFromSysctls } from '../model/failover.js';
import { formatMs } from '../model/figures.js';
import type { Snapshot } from '../model/snapshot.js';
import { readSnapshot } from '../procfs/read.js';
import { DEFAULT_STATE_DIR, readJournal } from '../tune/apply.js';
import { defaultProfileDirs, loadProfile } from '../tune/profile.js';
import { findDrift } from '../tune/plan.js';
import { gatherField } from './field-gather.js';
import { readRecords } from '../drill/record.js';
import { detectCapabilities, loadProbeFiles, parseBpftraceVersion } from '../trace/probes.js';
import { eventSources, type TypeSource } from '../trace/sources.js';
import { PROCFS_EVENT_TYPES } from '../model/diff.js';
import type { DoctorFacts, DriftFacts, FailoverFacts, PlatformFacts, RouteInfo } from './types.js';
import type { LinkSpec } from '../links/links.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ENOENT etc. when the command could not be started */
  error?: string;
}

export type Runner = (file: string, args: readonly string[], timeoutMs?: number) => Promise<CommandResult>;

/** execFile with an argv array: no shell, bounded time and output. */
const execRunner: Runner = (file, args, timeoutMs = 5000) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      // err.code: a string when the command did not run (ENOENT...), the exit status, or null when killed
      const code = (err as { code?: string | number | null } | null)?.code;
      if (typeof code === 'string') return resolve({ code: null, stdout: '', stderr: '', error: code });
      resolve({ code: err ? (code ?? 1) : 0, stdout, stderr });
    });
  });

export interface GatherOptions {
  procRoot: string;
  netns: string | null;
  hz?: number;
  /** root standing in for /sys (tests); default /sys */
  sysRoot?: string;
  /** root standing in for /proc for this process' own status (CapEff); default /proc */
  selfProcRoot?: string;
  run?: Runner;
  uid?: number;
  /** host addresses; default: os.networkInterfaces() of this netns */
  hostAddresses?: () => string[];
  sampleMs?: number | null;
  failoverTargetMs?: number | null;
  /** verify drift against this profile instead of the last applied journal */
  profile?: string | null;
  stateDir?: string;
  /** skip host facts (platform, routes, addresses) even on /proc */
  capture?: boolean;
  sleep?: (ms: number) => Promise<void>;
  /** root standing in for / for modprobe.d and /lib/modules (default / live, not read on a capture) */
  fsRoot?: string | null;
  /** IPv4 addresses per interface (rp_filter check); default: this netns */
  ifAddrs?: () => Record<string, string[]>;
  /** named links (loaded by the command: --links, or the default file) */
  links?: readonly LinkSpec[];
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

export async function gatherPlatform(
  o: Pick<GatherOptions, 'procRoot' | 'sysRoot' | 'selfProcRoot' | 'run' | 'uid'> & {
    /** the initial mount namespace's /sys (default INITIAL_SYS_ROOT on a live host; none under --sys-root) */
    hostSysRoot?: string | null;
  },
): Promise<PlatformFacts> {
  const sys = o.sysRoot ?? '/sys';
  const run = o.run ?? execRunner;
  // `ip netns exec` mounts a /sys without tracefs; trace then runs bpftrace in the initial mount namespace
  const hostSys = o.hostSysRoot !== undefined ? o.hostSysRoot : o.sysRoot === undefined ? INITIAL_SYS_ROOT : null;
  const kprobeCandidates = [sys, ...(hostSys ? [hostSys] : [])].flatMap((d) => kprobeFiles(d));
  const [sctpModule, sctpBuiltin, sctpDiagModule, btfVmlinux, btfSctp, ...kprobes] = await Promise.all([
    exists(join(sys, 'module/sctp')),
    exists(join(o.procRoot, 'net/sctp')),
    exists(join(sys, 'module/sctp_diag')),
    exists(join(sys, 'kernel/btf/vmlinux')),
    exists(join(sys, 'kernel/btf/sctp')),
    ...kprobeCandidates.map(exists),
  ]);
  // bpftrace loads LLVM first: seconds on a busy host (3 s called a present bpftrace missing)
  const bt = await run('bpftrace', ['-V'], 10_000);
  const version = bt.code === 0 ? (bt.stdout.trim().split('\n')[0] ?? '').trim() : '';
  const status = await readRegularFileOrNull(join(o.selfProcRoot ?? '/proc', 'self/status'), 64 * 1024).catch(() => null);
  const capEff = parseCapEff(status);
  return {
    sctpModule,
    sctpBuiltin: sctpBuiltin && !sctpModule,
    sctpDiagModule,
    bpftraceVersion: version || null,
    btfVmlinux,
    btfSctp,
    kprobeEvents: kprobeCandidates.find((_, i) => kprobes[i]) ?? null,
    uid: o.uid ?? process.getuid?.() ?? -1,
    capEff,
    // without sctp there is nothing to probe (and no kallsyms to look the functions up in)
    eventSources: sctpModule || sctpBuiltin ? await plannedSources(version || null, capEff, sys, o.selfProcRoot ?? '/proc') : null,
  };
}

/** Where trace/top/metrics would take each event type from on this host (the same detection, bpftrace not started). */
async function plannedSources(version: string | null, capEff: bigint | null, sysRoot: string, procRoot: string): Promise<TypeSource[]> {
  const files = loadProbeFiles();
  const caps = await detectCapabilities({ files, ...(version ? { version: parseBpftraceVersion(version) } : { bpftrace: null }), capEff, sysRoot, procRoot });
  const off = caps.unavailable ? { reason: caps.unavailableReason ?? 'probe-missing', detail: caps.unavailable } : null;
  const unavailable = caps.probes.filter((p) => !p.ok).map((p) => ({ name: p.name, missing: p.missing, reason: p.reason ?? 'probe-missing' }));
  const running = caps.probes.filter((p) => p.ok).map((p) => p.name);
  return eventSources({ files, procfsTypes: PROCFS_EVENT_TYPES, off, running, unavailable, bpf: 'planned' });
}

/** Non-loopback, non-link-local addresses of this network namespace. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && !a.address.toLowerCase().startsWith('fe80:')) out.push(a.address);
  return [...new Set(out)].sort();
}

const noRoute = (dst: string, error: string): RouteInfo => ({ dst, dev: null, gateway: null, prefsrc: null, error });

/** One `ip -j route get ADDR` answer (the first route object), or why there is none. */
export function parseRouteGet(dst: string, json: string): RouteInfo {
  try {
    const r = (JSON.parse(json) as Array<{ dev?: string; gateway?: string; prefsrc?: string }>)[0];
    if (!r) return noRoute(dst, 'no route');
    return { dst, dev: r.dev ?? null, gateway: r.gateway ?? null, prefsrc: r.prefsrc ?? null };
  } catch {
    return noRoute(dst, 'unparsable `ip -j route get` output');
  }
}

const ADDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]+)$/;

export async function lookupRoutes(addresses: Iterable<string>, run: Runner = execRunner, max = 256): Promise<Map<string, RouteInfo>> {
  const out = new Map<string, RouteInfo>();
  const list = [...new Set(addresses)].filter((a) => ADDR_RE.test(a));
  for (const dst of list.slice(0, max)) {
    const r = await run('ip', ['-j', 'route', 'get', dst], 3000);
    if (r.error) out.set(dst, noRoute(dst, r.error === 'ENOENT' ? 'ip (iproute2) is not installed' : r.error));
    else if (r.code !== 0) out.set(dst, noRoute(dst, r.stderr.trim() || `ip exited ${r.code}`));
    else out.set(dst, parseRouteGet(dst, r.stdout));
  }
  return out;
}

/** Modelled failover from the sysctls (src/model/failover.ts) on this kernel, LAN RTT, two paths. */
export function failoverFromSysctls(sysctls: Readonly<Record<string, string>>, kernelRelease: string | null = null): FailoverFacts {
  const m = modelFailover(paramsFromSysctls(sysctls, { paths: 2, kernelRelease }));
  const parts = [
    `data path: traffic moves after ${formatMs(m.dataPath.trafficMovesMs)}`,
    `PF after ${formatMs(m.dataPath.pfMs)}`,
    `INACTIVE after ${formatMs(m.dataPath.inactiveMs)}`,
    `idle path INACTIVE after ~${formatMs(m.idlePath.inactive.expected)} (max ${formatMs(m.idlePath.inactive.max)})`,
    `RTT 1 ms assumed`,
  ];
  return { failoverMs: Math.round(m.dataPath.trafficMovesMs), model: parts.join('; ') };
}

/** Drift of live sysctls against --profile, or against the last applied journal. */
export async function gatherDrift(
  o: Pick<DoctorFacts, 'sysctls'> & Pick<GatherOptions, 'profile' | 'netns'> & { stateDir: string },
): Promise<{ drift: DriftFacts | null; unavailable?: string }> {
  if (!o.sysctls) return { drift: null, unavailable: 'sysctls unreadable: drift not checked' };
  const current = new Map(Object.entries(o.sysctls));
  if (o.profile) {
    const p = await loadProfile({ name: o.profile }, defaultProfileDirs());
    return { drift: { profile: p.name, drifted: findDrift(p, current) } };
  }
  let journal;
  try {
    journal = await readJournal(o.stateDir, o.netns);
  } catch (e) {
    return { drift: null, unavailable: `tune journal unreadable: ${(e as Error).message}` };
  }
  if (!journal) return { drift: null, unavailable: `no profile applied (no journal in ${o.stateDir}); pass --profile NAME to verify one` };
  if (journal.status !== 'applied')
    return { drift: null, unavailable: `last tune --apply of ${journal.profile} is ${journal.status}: run \`sctpdiag tune --profile ${journal.profile} --verify\`` };
  const drifted = journal.planned
    .filter((w) => current.has(w.key) && current.get(w.key) !== w.value)
    .map((w) => ({ key: w.key, expected: w.value, actual: current.get(w.key) ?? null }));
  return { drift: { profile: journal.profile, drifted } };
}

export async function gatherFacts(o: GatherOptions): Promise<DoctorFacts> {
  const run = o.run ?? execRunner;
  const capture = o.capture ?? o.procRoot !== '/proc';
  let snapshot: Snapshot | null;
  try {
    snapshot = await readSnapshot({ procRoot: o.procRoot, netns: o.netns, hz: o.hz });
  } catch (e) {
    // on a live host, "no SCTP" is a finding (platform.sctp-module), not an error
    if (capture || !(e instanceof SctpdiagError) || e.exitCode !== EXIT.NO_SCTP) throw e;
    snapshot = null;
  }
  const sysctlMap = await readSysctls(o.procRoot).catch(() => null);
  const sysctls = sysctlMap ? Object.fromEntries(sysctlMap) : null;
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR;
  let later: Snapshot | null = null;
  if (snapshot && o.sampleMs && o.sampleMs > 0 && !capture) {
    await (o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(o.sampleMs);
    later = await readSnapshot({ procRoot: o.procRoot, netns: o.netns, hz: snapshot.hz.value, owners: false });
  }
  const platform = capture ? null : await gatherPlatform({ procRoot: o.procRoot, sysRoot: o.sysRoot, selfProcRoot: o.selfProcRoot, run, uid: o.uid });
  const hostAddresses = capture ? null : (o.hostAddresses ?? localAddresses)();
  const peers = (snapshot?.associations ?? []).filter((a) => a.paths.length > 1).flatMap((a) => a.paths.map((p) => p.address));
  const routes = capture ? null : await lookupRoutes(peers, run);
  const { drift, unavailable } = capture && !o.profile
    ? { drift: null, unavailable: 'reading a capture: profile drift not checked (pass --profile NAME to compare)' }
    : await gatherDrift({ sysctls, profile: o.profile, stateDir, netns: o.netns });
  const facts: DoctorFacts = {
    platform,
    sysctls,
    snapshot,
    later,
    sampleMs: later ? (o.sampleMs ?? null) : null,
    hostAddresses,
    routes,
    failoverTargetMs: o.failoverTargetMs ?? null,
    failover: sysctls ? failoverFromSysctls(sysctls, snapshot?.kernelRelease ?? null) : null,
    drift,
  };
  if (unavailable) facts.driftUnavailable = unavailable;
  if (o.links?.length) facts.links = o.links;
  if (!capture)
    facts.drills = await readRecords(stateDir).catch((e: Error) => ({ records: [], refused: 0, unavailable: `drill records unreadable: ${e.message}` }));
  const fsRoot = o.fsRoot !== undefined ? o.fsRoot : capture ? null : '/';
  facts.field = await gatherField({ procRoot: o.procRoot, fsRoot, live: !capture, run, ifAddrs: o.ifAddrs });
  return facts;
}
