/**
 * `sctpdiag failover-time`: the failover model (src/model/failover.ts) on
 * arbitrary parameters: from a profile, the live sysctls or the kernel
 * defaults, each overridable on the command line.
 */
import { writeJson } from '../render/json.js';
import { Command } from 'commander';
import { globals } from '../context.js';
import { usageError } from '../errors.js';
import { catalog, defaultFor, lookupKey, TIMER_MAX_MS } from '../kernel/sysctl-catalog.js';
import { readKernelRelease, readSysctls } from '../procfs/sysctls.js';
import { parseKernelRelease, parsePaths, parseRttMs, parseSysctlInt } from './options.js';
import { formatMs } from '../model/figures.js';
import { MAX_PATHS, modelFailover, paramsFromSysctls, type FailoverModel, type FailoverParams } from '../model/failover.js';
import { table, type Style } from '../render/style.js';
import { defaultProfileDirs, loadProfile, checkProfileName, type ProfileDirs } from '../tune/profile.js';

export const FAILOVER_SCHEMA_VERSION = 1;

export interface FailoverReport {
  schemaVersion: typeof FAILOVER_SCHEMA_VERSION;
  /** where the base parameters came from */
  base: 'defaults' | 'live' | `profile:${string}`;
  model: FailoverModel;
}

export interface FailoverOptions {
  profile?: string;
  live?: boolean;
  rtoInitial?: number;
  rtoMin?: number;
  rtoMax?: number;
  pathMaxRetrans?: number;
  pfRetrans?: number;
  pfEnable?: number;
  hbInterval?: number;
  associationMaxRetrans?: number;
  paths?: number;
  rtt?: number;
  rttvar?: number;
  rto0?: number;
  kernel?: string;
}

export async function collectFailover(o: FailoverOptions, env: { procRoot: string; profileDirs?: ProfileDirs }): Promise<FailoverReport> {
  const kernel = { release: o.kernel ?? (await readKernelRelease(env.procRoot)) };
  const vals = new Map<string, string>();
  for (const k of catalog) {
    const d = defaultFor(k, kernel);
    if (d !== null) vals.set(k.name, d);
  }
  let base: FailoverReport['base'] = 'defaults';
  if (o.live) {
    const live = await readSysctls(env.procRoot);
    if (!live) throw usageError('--live: no net.sctp sysctls here (sctp module not loaded?)');
    for (const [k, v] of live) vals.set(k, v);
    base = 'live';
  }
  if (o.profile !== undefined) {
    checkProfileName(o.profile);
    const p = await loadProfile({ name: o.profile }, env.profileDirs ?? defaultProfileDirs(), kernel);
    for (const [k, e] of p.values) vals.set(k, e.value);
    base = `profile:${p.name}`;
  }
  const p: FailoverParams = paramsFromSysctls(vals, { paths: o.paths ?? 2, rttMs: o.rtt ?? 1, kernelRelease: kernel.release });
  const over: Partial<FailoverParams> = {};
  if (o.rtoInitial !== undefined) over.rtoInitial = o.rtoInitial;
  if (o.rtoMin !== undefined) over.rtoMin = o.rtoMin;
  if (o.rtoMax !== undefined) over.rtoMax = o.rtoMax;
  if (o.pathMaxRetrans !== undefined) over.pathMaxRetrans = o.pathMaxRetrans;
  if (o.pfRetrans !== undefined) over.pfRetrans = o.pfRetrans;
  if (o.pfEnable !== undefined) over.pfEnable = o.pfEnable !== 0;
  if (o.hbInterval !== undefined) over.hbInterval = o.hbInterval;
  if (o.associationMaxRetrans !== undefined) over.associationMaxRetrans = o.associationMaxRetrans;
  if (o.rttvar !== undefined) over.rttvarMs = o.rttvar;
  const params = { ...p, ...over };
  if (o.rto0 !== undefined) {
    // a measured RTO (e.g. remaddr RTO column): model it as the RTT that yields exactly this RTO
    params.rttMs = o.rto0;
    params.rttvarMs = 0;
    params.rtoMin = Math.min(params.rtoMin, o.rto0);
  }
  if (params.rtoMin < 1 || params.rtoMax < params.rtoMin) throw usageError(`need 1 ≤ rto_min (${params.rtoMin}) ≤ rto_max (${params.rtoMax})`);
  if (params.pathMaxRetrans < 1) throw usageError('path_max_retrans must be ≥ 1');
  if (params.paths < 1 || params.paths > MAX_PATHS) throw usageError(`--paths: ${params.paths} is out of range 1..${MAX_PATHS}`);
  return { schemaVersion: FAILOVER_SCHEMA_VERSION, base, model: modelFailover(params) };
}

/** "1 s + 2 s + … (N more of 60 s)": the model lists at most LIST_MAX terms of a long tail */
function listMs(list: readonly number[], total: number): string {
  const shown = list.map((x) => formatMs(x)).join(' + ');
  return total > list.length ? `${shown} + … (${total - list.length} more of ${formatMs(list[list.length - 1] ?? 0)})` : shown;
}

export function printFailover(r: FailoverReport, s: Style): string {
  const m = r.model;
  const p = m.params;
  const out = [
    `${s.bold('Failover model')} (base: ${r.base}) rto_min ${p.rtoMin} rto_max ${p.rtoMax} rto_initial ${p.rtoInitial} path_max_retrans ${p.pathMaxRetrans} pf_retrans ${p.pfRetrans}${p.pfEnable ? '' : ' (pf off)'} hb_interval ${p.hbInterval} association_max_retrans ${p.associationMaxRetrans}, ${p.paths} paths, RTT ${p.rttMs} ms${p.kernelRelease ? `, kernel ${p.kernelRelease}` : ''}`,
    `RTO₀ ${formatMs(m.rto0)}; timeouts ${listMs(m.rtoSeries, m.strikes)}`,
    '',
  ];
  const rows = [
    ['EVENT', 'TIME', ''],
    ['data path: traffic moves to another path', formatMs(m.dataPath.trafficMovesMs), m.pfEffective ? 'PF' : 'first retransmission goes to an alternate path'],
    ['data path: PF', formatMs(m.dataPath.pfMs), m.pfEffective ? `Σ RTOᵢ, i=0..${p.pfRetrans}` : 'PF never entered'],
    m.dataPath.inactiveBy === 'heartbeats'
      ? ['data path: INACTIVE', formatMs(m.dataPath.inactiveMs), `PF + heartbeats ${listMs(m.dataPath.hbAfterPfMs, m.strikes - p.pfRetrans)} (first not counted; ${formatMs(m.dataPath.inactive.min)} … ${formatMs(m.dataPath.inactive.max)})`]
      : ['data path: INACTIVE', formatMs(m.dataPath.inactiveMs), `Σ RTOᵢ, i=0..${p.pathMaxRetrans}`],
    ['idle path (heartbeats): PF', m.idlePath.pf ? `${formatMs(m.idlePath.pf.min)} … ${formatMs(m.idlePath.pf.max)}` : '—', m.idlePath.pf ? `expected ${formatMs(m.idlePath.pf.expected)}` : ''],
    ['idle path (heartbeats): INACTIVE', `${formatMs(m.idlePath.inactive.min)} … ${formatMs(m.idlePath.inactive.max)}`, `expected ${formatMs(m.idlePath.inactive.expected)}`],
    ['association ABORT (all paths dead)', formatMs(m.abort.ms), `${m.abort.strikes} timeouts > association_max_retrans`],
  ];
  out.push(...table(rows));
  for (const n of m.notes) out.push(s.yellow('! ' + n));
  out.push(s.dim('Times run from the first unacknowledged DATA (data path) or from the cut (idle path); HB period = max(RTO/2 + hb_interval, 200 ms) + U[0, RTO), hb_interval not added while PF; after PF no DATA goes to the path, heartbeats mark it INACTIVE.'));
  return out.join('\n');
}

const sysctlInt = (name: string, key: string) => (v: string) => parseSysctlInt(v, name, lookupKey(key)!);
const dec = (name: string) => (v: string) => parseRttMs(v, name, TIMER_MAX_MS);

export function failoverTimeCommand(): Command {
  return new Command('failover-time')
    .description('model SCTP failure detection and failover times for given parameters')
    .option('--profile <name>', 'take parameters from a profile (over the kernel defaults)')
    .option('--live', 'take parameters from the live sysctls (over the kernel defaults)')
    .option('--rto-initial <ms>', 'rto_initial', sysctlInt('--rto-initial', 'rto_initial'))
    .option('--rto-min <ms>', 'rto_min', sysctlInt('--rto-min', 'rto_min'))
    .option('--rto-max <ms>', 'rto_max', sysctlInt('--rto-max', 'rto_max'))
    .option('--path-max-retrans <n>', 'path_max_retrans', sysctlInt('--path-max-retrans', 'path_max_retrans'))
    .option('--pf-retrans <n>', 'pf_retrans', sysctlInt('--pf-retrans', 'pf_retrans'))
    .option('--pf-enable <0|1>', 'pf_enable', sysctlInt('--pf-enable', 'pf_enable'))
    .option('--hb-interval <ms>', 'hb_interval', sysctlInt('--hb-interval', 'hb_interval'))
    .option('--association-max-retrans <n>', 'association_max_retrans', sysctlInt('--association-max-retrans', 'association_max_retrans'))
    .option('--paths <n>', `number of peer paths (1..${MAX_PATHS})`, parsePaths)
    .option('--rtt <ms>', 'smoothed RTT of the path (default 1)', dec('--rtt'))
    .option('--rttvar <ms>', 'RTT variance (default RTT/2)', dec('--rttvar'))
    .option('--rto0 <ms>', 'use this RTO as RTO₀ (e.g. measured from remaddr)', dec('--rto0'))
    .option('--kernel <release>', 'model this kernel release (default: the running one), e.g. 5.10.0-32-amd64', (v: string) => parseKernelRelease(v))
    .action(async function (this: Command) {
      const g = globals(this);
      const r = await collectFailover(this.opts<FailoverOptions>(), { procRoot: g.procRoot });
      if (g.json) writeJson(r);
      else process.stdout.write(printFailover(r, g.style) + '\n');
    });
}
