/**
 * `sctpdiag tune`: net.sctp profiles — list, show, plan (dry run), apply
 * (transactional, journaled), persist, verify, rollback.
 * collectTune() does the work and returns the plain object that --json
 * prints; printTune() renders it as text.
 */
import { writeJson } from '../render/json.js';
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { globals } from '../context.js';
import { EXIT, SctpdiagError, noSctpError, usageError } from '../errors.js';
import {
  catalog,
  defaultFor,
  fullName,
  TIMER_MAX_MS,
  type KernelInfo,
  type RuleFinding,
} from '../kernel/sysctl-catalog.js';
import { readKernelRelease, readSysctls, sysctlDir } from '../procfs/sysctls.js';
import { parseNumber, parsePaths, parseRttMs } from './options.js';
import { allowed } from '../kernel/privileges.js';
import { formatMs } from '../model/figures.js';
import { MAX_PATHS, modelFailover, paramsFromSysctls, type FailoverModel } from '../model/failover.js';
import { findSctpSocketOwners, type SocketOwner } from '../procfs/owners-sctp.js';
import { table, type Style } from '../render/style.js';
import {
  applyWrites,
  acquireTuneLock,
  DEFAULT_STATE_DIR,
  resolveStateDir,
  detectInterrupted,
  persistContent,
  PERSIST_FILE,
  procSysctlIO,
  rollback,
  type Change,
  type Interrupted,
  type RollbackResult,
  type SysctlIO,
} from '../tune/apply.js';
import { buildPlan, findDrift, type Drift, type PlanItem, type Write } from '../tune/plan.js';
import { checkProfileName, defaultProfileDirs, listProfiles, loadProfile, type ProfileDirs, type ProfileListing, type ResolvedProfile } from '../tune/profile.js';
import { escapeControl } from '../render/escape.js';

export const TUNE_SCHEMA_VERSION = 1;
export const DEFAULT_SYSCTL_D = '/etc/sysctl.d';
export { PERSIST_FILE };
/** how long --apply/--rollback wait for another one's lock by default, seconds */
export const DEFAULT_LOCK_WAIT_S = 10;

export type TuneMode = 'list' | 'show' | 'plan' | 'apply' | 'verify' | 'rollback';

export interface TuneOptions {
  profile?: string;
  profileFile?: string;
  list?: boolean;
  show?: string;
  apply?: boolean;
  persist?: boolean;
  verify?: boolean;
  rollback?: boolean;
  allowInsecure?: boolean;
  paths?: number;
  rtt?: number;
  /** seconds to wait for another apply/rollback's lock */
  wait?: number;
}

export interface TuneEnv {
  procRoot: string;
  netns: string | null;
  stateDir: string;
  profileDirs: ProfileDirs;
  sysctlD: string;
  isRoot: boolean;
  kernel?: KernelInfo;
  /** replaces the /proc/sys writer (tests inject failures) */
  io?: SysctlIO;
}

export interface FailoverSummary {
  rto0Ms: number;
  pfEffective: boolean;
  trafficMovesMs: number;
  pfMs: number | null;
  inactiveMs: number;
  idleInactiveExpectedMs: number;
  idleInactiveMaxMs: number;
  abortMs: number;
  notes: string[];
}

export interface ProfileView {
  name: string;
  file: string;
  description: string | null;
  files: string[];
  values: Array<{ key: string; value: string; file: string; line: number; reason: string }>;
}

export interface TuneReport {
  schemaVersion: typeof TUNE_SCHEMA_VERSION;
  mode: TuneMode;
  netns: string | null;
  kernelRelease: string | null;
  /** an apply that never finished (crash / SIGKILL), found in the state dir */
  interrupted: Interrupted | null;
  profiles?: ProfileListing[];
  profile?: ProfileView;
  items?: PlanItem[];
  writes?: Write[];
  findings?: RuleFinding[];
  failover?: { rttMs: number; paths: number; before: FailoverSummary | null; after: FailoverSummary };
  owners?: SocketOwner[];
  written?: Change[];
  journal?: string;
  persisted?: string | null;
  drift?: Drift[];
  rollback?: RollbackResult;
  notes: string[];
}

export function summariseModel(m: FailoverModel): FailoverSummary {
  return {
    rto0Ms: m.rto0,
    pfEffective: m.pfEffective,
    trafficMovesMs: m.dataPath.trafficMovesMs,
    pfMs: m.dataPath.pfMs,
    inactiveMs: m.dataPath.inactiveMs,
    idleInactiveExpectedMs: m.idlePath.inactive.expected,
    idleInactiveMaxMs: m.idlePath.inactive.max,
    abortMs: m.abort.ms,
    notes: m.notes,
  };
}

function modeOf(o: TuneOptions): TuneMode {
  const modes: TuneMode[] = [];
  if (o.list) modes.push('list');
  if (o.show !== undefined) modes.push('show');
  if (o.apply) modes.push('apply');
  if (o.verify) modes.push('verify');
  if (o.rollback) modes.push('rollback');
  if (modes.length > 1) throw usageError(`--${modes.join(', --')} cannot be combined`);
  if (o.persist && !o.apply) throw usageError('--persist needs --apply');
  if (o.profile !== undefined && o.profileFile !== undefined) throw usageError('give --profile or --profile-file, not both');
  const m = modes[0] ?? 'plan';
  const needsProfile = m === 'plan' || m === 'apply' || m === 'verify';
  if (needsProfile && o.profile === undefined && o.profileFile === undefined)
    throw usageError('which profile? give --profile NAME or --profile-file FILE', 'run `sctpdiag tune --list`');
  if (!needsProfile && m !== 'show' && (o.profile !== undefined || o.profileFile !== undefined))
    throw usageError(`--${m} takes no profile`);
  return m;
}

const view = (p: ResolvedProfile): ProfileView => ({
  name: p.name,
  file: p.file,
  description: p.description,
  files: p.files,
  values: [...p.values.values()].map((e) => ({ key: e.key, value: e.value, file: e.file, line: e.line, reason: e.reason })),
});

/** Kernel defaults as a value map (keys with a known default). */
function defaultValues(kernel: KernelInfo): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of catalog) {
    const d = defaultFor(k, kernel);
    if (d !== null) m.set(k.name, d);
  }
  return m;
}

export async function collectTune(o: TuneOptions, env: TuneEnv): Promise<TuneReport> {
  const mode = modeOf(o);
  const writing = mode === 'apply' || mode === 'rollback';
  // refuse before anything is read or written
  if (writing && !env.isRoot)
    throw new SctpdiagError(`tune --${mode} writes /proc/sys/net/sctp and needs root`, EXIT.PERMISSION, 'run it with sudo; the dry run and --verify work unprivileged');
  if (o.persist && env.netns)
    throw usageError('--persist writes /etc/sysctl.d, which `sysctl --system` applies to the initial netns only; do not combine it with --netns');
  const kernel: KernelInfo = env.kernel ?? { release: await readKernelRelease(env.procRoot) };
  const report: TuneReport = {
    schemaVersion: TUNE_SCHEMA_VERSION,
    mode,
    netns: env.netns,
    kernelRelease: kernel.release ?? null,
    interrupted: await detectInterrupted(env.stateDir, env.netns).catch(() => null),
    notes: [],
  };
  const paths = o.paths ?? 2;
  const rttMs = o.rtt ?? 1;

  if (mode === 'list') {
    report.profiles = await listProfiles(env.profileDirs);
    return report;
  }
  if (mode === 'show') {
    checkProfileName(o.show!);
    const p = await loadProfile({ name: o.show! }, env.profileDirs, kernel);
    report.profile = view(p);
    const vals = defaultValues(kernel);
    for (const [k, e] of p.values) vals.set(k, e.value);
    report.failover = { rttMs, paths, before: null, after: summariseModel(modelFailover(paramsFromSysctls(vals, { paths, rttMs, kernelRelease: kernel.release ?? null }))) };
    return report;
  }
  const io = env.io ?? procSysctlIO(env.procRoot);
  const persistFile = join(env.sysctlD, PERSIST_FILE);
  if (!writing) return collectTuneUnlocked(o, env, mode, kernel, report, io, persistFile);
  // a bad profile is refused before the lock (and the state dir) is touched
  const profile = mode === 'apply' ? await loadNamedProfile(o, env, kernel) : undefined;
  // one apply or rollback at a time, for the whole transaction (originals, writes, journal)
  const lock = await acquireTuneLock(env.stateDir, env.netns, (o.wait ?? DEFAULT_LOCK_WAIT_S) * 1000, mode);
  try {
    report.interrupted = await detectInterrupted(env.stateDir, env.netns, persistFile).catch(() => null);
    if (mode === 'rollback') {
      report.rollback = await rollback({ io, stateDir: env.stateDir, netns: env.netns, persistFile });
      report.interrupted = null;
      return report;
    }
    return await collectTuneUnlocked(o, env, mode, kernel, report, io, persistFile, profile);
  } finally {
    await lock.release();
  }
}

function loadNamedProfile(o: TuneOptions, env: TuneEnv, kernel: KernelInfo): Promise<ResolvedProfile> {
  if (o.profile !== undefined) checkProfileName(o.profile);
  return loadProfile(o.profile !== undefined ? { name: o.profile } : { file: o.profileFile! }, env.profileDirs, kernel);
}

async function collectTuneUnlocked(o: TuneOptions, env: TuneEnv, mode: TuneMode, kernel: KernelInfo, report: TuneReport, io: SysctlIO, persistFile: string, loaded?: ResolvedProfile): Promise<TuneReport> {
  const paths = o.paths ?? 2;
  const rttMs = o.rtt ?? 1;

  const profile = loaded ?? (await loadNamedProfile(o, env, kernel));
  const current = await readSysctls(env.procRoot);
  if (!current) throw noSctpError(sysctlDir(env.procRoot));
  report.profile = view(profile);

  if (mode === 'verify') {
    report.drift = findDrift(profile, current);
    report.items = buildPlanLenient(profile, current);
    return report;
  }

  const plan = buildPlan(profile, current, { allowInsecure: o.allowInsecure, paths });
  report.items = plan.items;
  report.writes = plan.writes;
  report.findings = plan.findings;
  report.failover = {
    rttMs,
    paths,
    before: summariseModel(modelFailover(paramsFromSysctls(current, { paths, rttMs, kernelRelease: kernel.release ?? null }))),
    after: summariseModel(modelFailover(paramsFromSysctls(plan.final, { paths, rttMs, kernelRelease: kernel.release ?? null }))),
  };
  report.owners = await findSctpSocketOwners(env.procRoot).catch(() => []);
  if (plan.items.some((i) => i.change && i.effect === 'new-sockets'))
    report.notes.push('values marked "new sockets" are copied when a socket is created: existing sockets and their associations keep the old values until the application re-creates them');

  if (mode === 'apply') {
    let persist: { file: string; content: string } | undefined;
    if (o.persist) {
      const present = plan.items.filter((i) => i.skipped === null).map((i) => ({ key: i.key, value: i.target }));
      const start: Record<string, string> = Object.fromEntries(defaultValues(kernel));
      for (const [k, v] of current) if (start[k] === undefined) start[k] = v;
      const reasons = new Map(plan.items.map((i) => [i.key, i.source.reason]));
      persist = { file: persistFile, content: persistContent(profile.name, present, start, reasons) };
    }
    const r = await applyWrites({ io, stateDir: env.stateDir, netns: env.netns, profile: profile.name, writes: plan.writes, persist, persistFile });
    report.written = r.written;
    report.journal = r.journal;
    report.persisted = r.persisted;
    report.interrupted = null;
  }
  return report;
}

/** Plan items for --verify, without refusing on rule errors (verify only reports). */
function buildPlanLenient(profile: ResolvedProfile, current: ReadonlyMap<string, string>): PlanItem[] {
  try {
    return buildPlan(profile, current, { allowInsecure: true }).items;
  } catch {
    return [];
  }
}

const EFFECT_TEXT = { live: 'live', 'new-sockets': 'new sockets' } as const;

function failoverLines(f: NonNullable<TuneReport['failover']>, s: Style): string[] {
  const rows: string[][] = [[s.bold('modelled failover'), f.before ? 'now' : '', f.before ? '' : '', 'profile']];
  const add = (label: string, b: (x: FailoverSummary) => number | null) =>
    rows.push([label, f.before ? formatMs(b(f.before)) : '', f.before ? '→' : '', formatMs(b(f.after))]);
  add('traffic leaves the path (data)', (x) => x.trafficMovesMs);
  add('path PF (data)', (x) => x.pfMs);
  add('path INACTIVE (data)', (x) => x.inactiveMs);
  add('path INACTIVE (idle, expected)', (x) => x.idleInactiveExpectedMs);
  add('path INACTIVE (idle, worst)', (x) => x.idleInactiveMaxMs);
  add('association ABORT (all paths dead)', (x) => x.abortMs);
  const out = [`${s.bold('Failover model')} (RTT ${f.rttMs} ms, ${f.paths} paths; see \`sctpdiag failover-time\`):`, ...table(rows, new Set([1, 3])).map((l) => '  ' + l)];
  for (const n of f.after.notes) out.push('  ' + s.yellow('! ' + n));
  return out;
}

export function printTune(r: TuneReport, s: Style): string {
  const out: string[] = [];
  if (r.interrupted) {
    const i = r.interrupted;
    out.push(
      s.red(
        i.running
          ? `! an apply (pid ${i.pid}, profile ${i.profile}) is running now`
          : `! interrupted apply detected: profile ${i.profile}, pid ${i.pid}, started ${i.startedAt}; values may be half-written — run \`sctpdiag tune --rollback\``,
      ),
      '',
    );
  }
  const ns = r.netns ? ` in netns ${r.netns}` : '';
  if (r.mode === 'list') {
    const rows = [['PROFILE', 'SOURCE', 'DESCRIPTION'], ...(r.profiles ?? []).map((p) => [p.name, p.source + (p.overrides ? ' (overrides shipped)' : ''), p.description ?? ''])];
    out.push(...table(rows));
    return out.join('\n');
  }
  if (r.mode === 'rollback' && r.rollback) {
    const rb = r.rollback;
    out.push(`Rolled back${ns}: restored the values saved before ${rb.interrupted ? 'the interrupted' : 'the last'} apply of ${rb.profile}.`);
    if (rb.restored.length === 0) out.push('  (every value was already at its saved value)');
    for (const c of rb.restored) out.push(`  ${fullName(c.key)}  ${c.from} → ${c.to}`);
    if (rb.persist) out.push(`  ${rb.persist.file}: ${rb.persist.action}`);
    return out.join('\n');
  }
  const p = r.profile;
  if (p) out.push(`${s.bold('Profile ' + escapeControl(p.name))} (${escapeControl(p.file)})${p.description ? ': ' + escapeControl(p.description) : ''}`);
  if (r.mode === 'show' && p) {
    if (p.files.length > 1) out.push(`  includes: ${p.files.slice(1).join(', ')}`);
    out.push('');
    for (const v of p.values) {
      out.push(`  ${fullName(v.key)} = ${v.value}`);
      if (v.reason) out.push(s.dim(`      ${escapeControl(v.reason)}`));
    }
    if (r.failover) out.push('', ...failoverLines(r.failover, s));
    return out.join('\n');
  }
  if (r.mode === 'verify') {
    const drift = r.drift ?? [];
    if (drift.length === 0) out.push(s.green(`No drift${ns}: every live value matches the profile.`));
    else {
      out.push(s.red(`Drift${ns}: ${drift.length} key(s) differ from the profile:`));
      out.push(...table([['KEY', 'LIVE', 'PROFILE'], ...drift.map((d) => [fullName(d.key), d.actual ?? '(absent)', d.expected])]).map((l) => '  ' + l));
    }
    const skipped = (r.items ?? []).filter((i) => i.skipped);
    for (const i of skipped) out.push(s.dim(`  skipped ${fullName(i.key)}: ${i.skipped}`));
    return out.join('\n');
  }
  // plan / apply
  const items = r.items ?? [];
  const changes = items.filter((i) => i.change);
  if (r.mode === 'plan') out.push(s.yellow(`Dry run${ns}: nothing written. Add --apply to write (root), --persist to keep it across reboots.`));
  out.push('');
  if (changes.length === 0) out.push(`No changes${ns}: every value already matches the profile.`);
  else {
    const order = new Map((r.writes ?? []).map((w, i) => [w.key, i + 1]));
    const rows = [['#', 'KEY', 'CURRENT', '', 'TARGET', 'UNIT', 'EFFECT'], ...changes
      .sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0))
      .map((i) => [String(order.get(i.key) ?? ''), fullName(i.key), i.current ?? '', '→', i.target, i.unit, EFFECT_TEXT[i.effect]])];
    out.push(...table(rows, new Set([0, 2])));
  }
  const same = items.filter((i) => !i.change && !i.skipped);
  if (same.length) out.push(s.dim(`unchanged: ${same.map((i) => i.key).join(', ')}`));
  for (const i of items.filter((x) => x.skipped)) out.push(s.dim(`skipped ${fullName(i.key)}: ${i.skipped}`));
  const warns = (r.findings ?? []).filter((f) => f.level === 'warn');
  if (warns.length) {
    out.push('', s.bold('Warnings:'));
    for (const w of warns) out.push('  ' + s.yellow('! ' + w.message));
  }
  if (r.failover) out.push('', ...failoverLines(r.failover, s));
  if (r.owners) {
    out.push('');
    if (r.owners.length === 0) out.push('No process owns an SCTP socket now.');
    else {
      out.push(`${s.bold('Processes owning SCTP sockets')} (they keep the old "new sockets" values until restarted):`);
      for (const o of r.owners) out.push(`  pid ${o.pid}  ${escapeControl(o.comm)}  (${o.inodes.length} socket${o.inodes.length > 1 ? 's' : ''})`);
    }
  }
  for (const n of r.notes) out.push(s.dim(n));
  if (r.mode === 'apply') {
    out.push('');
    if ((r.written ?? []).length === 0) out.push(`Nothing to write${ns}.`);
    else out.push(s.green(`Applied${ns}: ${r.written!.length} key(s) written and read back. Journal: ${r.journal} (undo with --rollback).`));
    if (r.persisted) out.push(s.green(`Persisted: ${r.persisted} (reproduced by \`sysctl --system\` when the sctp module is loaded first).`));
  }
  return out.join('\n');
}

/** Environment of the real CLI. */
export function tuneEnvFromCli(cmd: Command, opts: { stateDir?: string; profileDir?: string; sysctlDir?: string }): TuneEnv {
  const g = globals(cmd);
  const dirs = defaultProfileDirs();
  return {
    procRoot: g.procRoot,
    netns: g.netns,
    stateDir: resolveStateDir(opts.stateDir),
    profileDirs: { user: opts.profileDir ?? dirs.user, shipped: dirs.shipped },
    sysctlD: opts.sysctlDir ?? DEFAULT_SYSCTL_D,
    isRoot: allowed('tune'),
    kernel: { release: null, hz: g.hz ?? null },
  };
}

export function tuneCommand(): Command {
  return new Command('tune')
    .description('plan, apply, verify, persist and roll back net.sctp sysctl profiles (dry run unless --apply)')
    .option('--profile <name>', 'profile to use (user dir /etc/sctpdiag/profiles first, then shipped)')
    .option('--profile-file <file>', 'profile from a file')
    .option('--list', 'list the profiles')
    .option('--show <name>', 'show a profile: values, reasons, modelled failover')
    .option('--apply', 'write the profile (root): journaled, ordered, read back, rolled back on failure')
    .option('--persist', 'with --apply: also write /etc/sysctl.d/90-sctpdiag.conf atomically')
    .option('--verify', 'exit 6 and list drift when live values differ from the profile')
    .option('--rollback', 'restore the values saved before the last (or an interrupted) apply')
    .option('--allow-insecure', 'allow addip_noauth_enable=1 (association hijack risk)')
    .option('--state-dir <dir>', `journal directory (default ${DEFAULT_STATE_DIR}, or $SCTPDIAG_STATE_DIR)`)
    .option('--paths <n>', `peer paths assumed by the model and RFC 4960 §8.2 check (1..${MAX_PATHS})`, parsePaths, 2)
    .option('--rtt <ms>', 'path RTT assumed by the failover model', (v: string) => parseRttMs(v, '--rtt', TIMER_MAX_MS), 1)
    .option('--wait <s>', `with --apply/--rollback: wait this long for another one's lock, then exit 10 (default ${DEFAULT_LOCK_WAIT_S})`, (v: string) => parseNumber(v, '--wait', 0, 3600, 'a number of seconds'))
    .addOption(new Option('--profile-dir <dir>', 'user profile directory (default /etc/sctpdiag/profiles, or $SCTPDIAG_PROFILE_DIR)').hideHelp())
    .addOption(new Option('--sysctl-dir <dir>', 'where --persist writes (default /etc/sysctl.d)').hideHelp())
    .action(async function (this: Command) {
      const o = this.opts<TuneOptions & { stateDir?: string; profileDir?: string; sysctlDir?: string }>();
      const env = tuneEnvFromCli(this, o);
      const g = globals(this);
      env.kernel = { release: await readKernelRelease(env.procRoot), hz: g.hz ?? null };
      const r = await collectTune(o, env);
      if (g.json) writeJson(r);
      else process.stdout.write(printTune(r, g.style) + '\n');
      if (r.mode === 'verify' && (r.drift ?? []).length > 0)
        throw new SctpdiagError(`${r.drift!.length} key(s) drifted from profile ${r.profile?.name}`, EXIT.DRIFT, 'run `sctpdiag tune --profile NAME --apply` to re-apply');
    });
}
