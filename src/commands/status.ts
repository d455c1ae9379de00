/**
 * `sctpdiag status`: every association and its paths, in human units.
 * collectStatus() returns the plain object that --json prints; printStatus()
 * renders the same object as text.
 */
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { writeJson } from '../render/json.js';
import { globals, type GlobalOptions } from '../context.js';
import { readSnapshot } from '../procfs/read.js';
import { isEmptyFilter, matchAssoc, type AssocFilter } from '../model/filter.js';
import { parseAssocId, parseLiveSeconds, parsePeer, parsePort, parseStateFilter } from './options.js';
import type { Association, Endpoint, Finding, Snapshot } from '../model/snapshot.js';
import type { Hz } from '../kernel/hz.js';
import type { ParseWarning } from '../procfs/parse.js';
import { table, type Style } from '../render/style.js';
import { EXIT, SctpdiagError } from '../errors.js';
import { mark, timing } from '../timing.js';
import { escapeControl } from '../render/escape.js';
import { linkNames, type LinkSpec } from '../links/links.js';
import { loadLinks } from '../links/load.js';
import { formatAge, formatBytes, formatMs, rttAgeMs, staleAfterMs, withFigures, type LiveMeta, type LivePath } from '../model/figures.js';
import { LIVE_PRINT_S, collectLive } from '../trace/live.js';

export const STATUS_SCHEMA_VERSION = 1;

export interface NamespaceStatus {
  netns: string | null;
  kernelRelease: string | null;
  hz: Hz;
  takenAt: string;
  summary: StatusSummary;
  associations: Association[];
  endpoints: Endpoint[];
  snmp: Record<string, number>;
  warnings: ParseWarning[];
  /** association key → link name (--links, or /etc/sctpdiag/links.conf), when there are links */
  links?: Record<string, string>;
}

export interface StatusReport extends NamespaceStatus {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  host: string;
  filter: AssocFilter;
  /** with --all-netns: one entry per namespace (the top-level fields describe the current one) */
  namespaces?: NamespaceStatus[];
  /** with --live: where the paths' `live` figures come from (bpf), or why there are none */
  live?: LiveMeta;
}

export interface StatusSummary {
  associations: number;
  established: number;
  paths: Record<string, number>;
  warnings: number;
  failures: number;
}

export function summarise(assocs: readonly Association[]): StatusSummary {
  const paths: Record<string, number> = {};
  let warnings = 0;
  let failures = 0;
  for (const a of assocs) {
    for (const p of a.paths) paths[p.state] = (paths[p.state] ?? 0) + 1;
    for (const f of a.findings) {
      if (f.severity === 'warn') warnings++;
      if (f.severity === 'fail') failures++;
    }
  }
  return {
    associations: assocs.length,
    established: assocs.filter((a) => a.state === 'ESTABLISHED').length,
    paths,
    warnings,
    failures,
  };
}

export function collectStatus(snap: Snapshot, filter: AssocFilter, host = hostname(), links: readonly LinkSpec[] = []): StatusReport {
  const associations = snap.associations.filter((a) => matchAssoc(a, filter));
  const endpoints = isEmptyFilter(filter)
    ? snap.endpoints
    : snap.endpoints.filter((e) => filter.port === undefined || e.localPort === filter.port);
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    host,
    netns: snap.netns,
    kernelRelease: snap.kernelRelease,
    hz: snap.hz,
    takenAt: snap.takenAt,
    filter,
    summary: summarise(associations),
    associations,
    endpoints,
    snmp: snap.snmp,
    warnings: snap.warnings,
    ...(links.length > 0 ? { links: linkNames(associations, links) } : {}),
  };
}

function ownerText(owners: readonly { pid: number; comm: string }[]): string {
  if (owners.length === 0) return '-';
  const shown = owners.slice(0, 3).map((o) => `${escapeControl(o.comm)}[${o.pid}]`);
  return owners.length > 3 ? `${shown.join(',')},+${owners.length - 3}` : shown.join(',');
}

function findingLine(f: Finding, s: Style): string {
  const tag = f.severity === 'fail' ? s.red('FAIL') : f.severity === 'warn' ? s.yellow('WARN') : s.dim('info');
  return `  ${tag}  ${f.message}`;
}

function stateColour(state: string, s: Style): string {
  if (state === 'ACTIVE' || state === 'ESTABLISHED') return s.green(state);
  if (state === 'PF' || state === 'UNCONFIRMED') return s.yellow(state);
  if (state === 'INACTIVE' || state === 'CLOSED') return s.red(state);
  return state;
}

/** the columns `status --live` adds: bpf's figures of the path's last RTT sample and SACK, and its age */
const LIVE_COLUMNS = ['SRTT', 'RTTVAR', 'CWND', 'SSTHRESH', 'FLIGHT', 'PMTU', 'ERR', 'AGE'];

function liveCells(p: LivePath, heartbeatIntervalMs: number, s: Style): string[] {
  const f = p.live;
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`);
  const bytes = (v: number | undefined) => (v === undefined ? '-' : formatBytes(v));
  const age = rttAgeMs(f);
  const stale = age !== null && age > staleAfterMs(heartbeatIntervalMs, p.rtoMs, LIVE_PRINT_S * 1000);
  const err = f?.errorCount ? `${f.errorCount.value}/${f.maxPathRetrans?.value ?? p.maxPathRetrans}` : '-';
  return [
    ms(f?.srttMs?.value),
    ms(f?.rttvarMs?.value),
    bytes(f?.cwndBytes?.value),
    bytes(f?.ssthreshBytes?.value),
    bytes(f?.flightBytes?.value),
    bytes(f?.pmtuBytes?.value),
    err,
    age === null ? '-' : stale ? s.yellow(`${formatAge(age)} stale`) : formatAge(age),
  ];
}

function liveNote(l: LiveMeta): string {
  if (l.source !== 'bpf') return `live: no bpf figures (${l.reason ?? 'unknown'}); procfs's figures only`;
  return (
    `live: bpf (${l.probes.join(', ')}; attached in ${formatMs(l.attachMs ?? 0, 1)}), ${l.seconds} s listened, ${l.events} path report(s)` +
    `${l.reason ? `; ${l.reason}` : ''}\n` +
    `  SRTT, RTTVAR, ERR: the path's last RTT sample (DATA or HEARTBEAT-ACK); CWND…PMTU: it or a later SACK; AGE: from that sample to the read; -: none in the window`
  );
}

function printNamespace(r: NamespaceStatus, s: Style, showEndpoints: boolean, live?: LiveMeta): string[] {
  const out: string[] = [];
  const ns = r.netns ? `netns ${r.netns}` : 'current netns';
  out.push(
    s.bold(`${escapeControl(ns)} · kernel ${escapeControl(r.kernelRelease ?? 'unknown')} · HZ ${r.hz.value} (${r.hz.source}) · ${r.takenAt}`),
  );
  if (r.associations.length === 0) out.push('no SCTP associations');
  for (const a of r.associations) {
    out.push('');
    const local = a.localAddresses.map((l) => (l.primarySource ? `${l.address}*` : l.address)).join(' ');
    out.push(
      `${s.bold(`assoc ${a.id}`)}  ${a.style}  ${stateColour(a.state, s)}  ` +
        `:${a.localPort} → :${a.peerPort}  local ${local || '-'}  owner ${ownerText(a.owners)}` +
        (r.links?.[a.key] ? `  link ${s.bold(r.links[a.key]!)}` : ''),
    );
    out.push(
      `  hb ${a.heartbeatIntervalMs} ms · streams in/out ${a.inStreams}/${a.outStreams} · max retrans ${a.maxRetrans} · ` +
        `retransmitted chunks ${a.retransmittedChunks} · queue tx/rx ${a.txQueue}/${a.rxQueue}`,
    );
    const rows: string[][] = [['  PATH', 'STATE', 'ROLE', 'RTO', 'HB', 'MAXRTX', ...(live ? LIVE_COLUMNS : [])]];
    for (const p of a.paths) {
      const role = [p.primary ? 'primary' : '', p.active ? 'active' : ''].filter(Boolean).join(',') || '-';
      rows.push([
        `  ${p.address}`,
        stateColour(p.state, s),
        role,
        `${p.rtoMs} ms`,
        p.heartbeatArmed ? 'armed' : 'off',
        String(p.maxPathRetrans),
        ...(live ? liveCells(p, a.heartbeatIntervalMs, s) : []),
      ]);
    }
    out.push(...table(rows, live ? new Set([3, 5, 6, 7, 8, 9, 10, 11, 12]) : new Set([3, 5])));
    for (const f of a.findings) out.push(findingLine(f, s));
  }
  if (showEndpoints) {
    out.push('', s.bold('endpoints'));
    const rows: string[][] = [['  PORT', 'STYLE', 'STATE', 'ADDRESSES', 'OWNER']];
    for (const e of r.endpoints)
      rows.push([
        `  ${e.localPort}`,
        e.style,
        e.socketState,
        e.localAddresses.map((x) => x.address).join(' '),
        ownerText(e.owners),
      ]);
    out.push(...(r.endpoints.length ? table(rows) : ['  none']));
  }
  const sum = r.summary;
  const pathText = Object.entries(sum.paths)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  out.push(
    '',
    `${sum.associations} association(s), ${sum.established} established; paths: ${pathText || 'none'}; ` +
      `${sum.warnings} warning(s), ${sum.failures} failure(s)`,
  );
  if (live) out.push(liveNote(live));
  return out;
}

export function printStatus(r: StatusReport, s: Style, showEndpoints = false): string {
  const parts = r.namespaces ?? [r];
  return parts.map((n) => printNamespace(n, s, showEndpoints, r.live).join('\n')).join('\n\n') + '\n';
}

/** Parse-time warnings go to stderr, naming file and line. */
export function printParseWarnings(ws: readonly ParseWarning[]): void {
  for (const w of ws) process.stderr.write(`sctpdiag: warning: ${w.file}:${w.line}: ${w.message}\n`);
}

interface StatusFlags {
  assoc?: string;
  port?: string;
  peer?: string;
  state?: string;
  endpoints?: boolean;
  allNetns?: boolean;
  owners?: boolean;
  links?: string;
  live?: string | true;
}

export function parseFilter(o: StatusFlags): AssocFilter {
  const f: AssocFilter = {};
  if (o.assoc !== undefined) f.assocId = parseAssocId(o.assoc);
  if (o.port !== undefined) f.port = parsePort(o.port);
  if (o.peer !== undefined) f.peer = parsePeer(o.peer);
  if (o.state !== undefined) f.state = parseStateFilter(o.state);
  return f;
}

/** --all-netns: the current namespace, then every named one, each read by a child inside it. */
async function collectAllNetns(g: GlobalOptions, filter: AssocFilter, owners: boolean, links: readonly LinkSpec[]): Promise<StatusReport> {
  const here = collectStatus(await readSnapshot({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, owners }), filter, undefined, links);
  // loaded only here: a plain status does not pay for it
  const { readEveryNetns } = await import('../procfs/every-netns.js');
  const others = await readEveryNetns({
    hz: g.hz,
    owners,
    onError: (name, why) => process.stderr.write(`sctpdiag: warning: netns ${name}: ${why}\n`),
  });
  return { ...here, namespaces: [here, ...others.map((s) => collectStatus(s, filter, undefined, links))].map(stripReport) };
}

function stripReport(n: NamespaceStatus | StatusReport): NamespaceStatus {
  const { netns, kernelRelease, hz, takenAt, summary, associations, endpoints, snmp, warnings, links } = n;
  return { netns, kernelRelease, hz, takenAt, summary, associations, endpoints, snmp, warnings, ...(links ? { links } : {}) };
}

/** --live: bpf's per-path figures over `seconds`, merged into a status read at the end of the window. */
async function collectLiveStatus(g: GlobalOptions, filter: AssocFilter, seconds: number, owners: boolean, links: readonly LinkSpec[]): Promise<StatusReport> {
  let interrupted = false;
  const stop = () => void (interrupted = true);
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const live = await collectLive({
      procRoot: g.procRoot,
      netns: g.netns,
      hz: g.hz,
      seconds,
      progress: (t) => process.stderr.write(`sctpdiag: ${t}\n`),
      cancelled: () => interrupted,
    });
    if (live.source !== 'bpf') process.stderr.write(`sctpdiag: warning: --live: ${live.reason}; procfs's figures only\n`);
    const snap = await readSnapshot({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, owners });
    printParseWarnings(snap.warnings);
    const report = collectStatus(snap, filter, undefined, links);
    const { figures, ...meta } = live;
    // ages as of the report's read (takenAt), like every other figure in it
    const associations = withFigures(report.associations, figures, Date.parse(snap.takenAt));
    return { ...report, associations, live: meta };
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show SCTP associations and their paths')
    .option('--assoc <id>', 'only this association id')
    .option('--port <n>', 'only associations with this local or peer port')
    .option('--peer <addr>', 'only associations with a path to this peer address')
    .option('--state <state>', 'only associations in this state, or with a path in this state (ACTIVE, PF, INACTIVE…)')
    .option('-e, --endpoints', 'also list SCTP endpoints (listening and bound sockets)')
    .option('--all-netns', 'every named network namespace too (needs root)')
    // for the --all-netns fan-out of `metrics`: no walk of every /proc/PID/fd per scrape
    .addOption(new Option('--no-owners', 'do not look up owning processes').hideHelp())
    .option('--links <file>', 'name associations by a links file (default /etc/sctpdiag/links.conf when it exists)')
    .option('--live [seconds]', 'also per-path SRTT, cwnd, ssthresh, flight, PMTU, errors from bpf, listening SECONDS (default 10; needs root and bpftrace)')
    .action(async (o: StatusFlags, cmd: Command) => {
      const g = globals(cmd);
      const filter = parseFilter(o);
      const liveS = o.live === undefined ? null : parseLiveSeconds(o.live);
      if (liveS !== null && o.allNetns) throw new SctpdiagError('--live cannot be used with --all-netns', EXIT.USAGE);
      if (liveS !== null && g.procRoot !== '/proc') throw new SctpdiagError('--live needs the live kernel, not --proc-root', EXIT.USAGE);
      const links = await loadLinks(o.links ?? null);
      let report: StatusReport;
      if (liveS !== null) report = await collectLiveStatus(g, filter, liveS, o.owners !== false, links);
      else if (o.allNetns) {
        if (g.procRoot !== '/proc') throw new SctpdiagError('--all-netns cannot be used with --proc-root', EXIT.USAGE);
        report = await collectAllNetns(g, filter, o.owners !== false, links);
      } else {
        const snap = await readSnapshot({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, owners: o.owners !== false, marks: timing ?? undefined });
        printParseWarnings(snap.warnings);
        report = collectStatus(snap, filter, undefined, links);
      }
      if (g.json) writeJson(report);
      else process.stdout.write(printStatus(report, g.style, o.endpoints));
      mark('written');
    });
}

