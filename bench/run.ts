/**
 * `npm run bench` entry (issue #7): runs every bench, prints ONE table of
 * figures, ratios and pass/fail against the targets, and writes
 * bench/results/<date>-<host|lab>.json.
 *
 *   node dist/bench/run.js [--smoke] [--lab] [--no-write] [--only snapshot,ingest,top,trace,start]
 *                          [--sizes 1000,10000] [--lab-sizes 1000,2000,…] [--iterations N]
 *                          [--lab-dir DIR|TSV[,…]]  re-read finished lab runs (DIR/results.tsv or a .tsv)
 *
 * --smoke: 1 iteration, 100 associations, no lab unless --lab is given too.
 * Benches written by others (bench/ingest.ts → benchIngest, bench/top.ts →
 * benchTop, bench/trace-load.ts → benchTraceLoad) are imported only if their
 * compiled file exists; missing ones are listed under the table. Timings are
 * never asserted by tests.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs as utilParseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import {
  benchSnapshotHost,
  benchSnapshotLab,
  cliNodeFlags,
  labMetrics,
  parseLabTsv,
  round,
  type BenchResult,
} from './snapshot.js';

export interface RunOptions {
  smoke: boolean;
  lab: boolean;
  write: boolean;
  only?: string[];
  sizes?: number[];
  labSizes?: number[];
  iterations?: number;
  labDir?: string;
}

export type Verdict = 'PASS' | 'FAIL' | 'info';

export interface Row {
  part: string;
  figure: string;
  size: number | null;
  value: number;
  unit: string;
  /** e.g. "0.95× floor" */
  ratio: string;
  target: string;
  verdict: Verdict;
}

export interface RunResult {
  rows: Row[];
  table: string;
  results: BenchResult[];
  missing: string[];
  notes: string[];
  file: string | null;
}

const HERE = dirname(fileURLToPath(import.meta.url));

function sizeOf(key: string): [string, number | null] {
  const at = key.lastIndexOf('@');
  return at < 0 ? [key, null] : [key.slice(0, at), Number(key.slice(at + 1))];
}

function verdict(v: number, op: '<=' | '>=' | '==', limit: number): Verdict {
  if (!Number.isFinite(v)) return 'FAIL';
  return (op === '<=' ? v <= limit : op === '>=' ? v >= limit : v === limit) ? 'PASS' : 'FAIL';
}

const BIG = (n: number | null) => n !== null && n >= 8000;

function snapshotHostRows(r: BenchResult): Row[] {
  const rows: Row[] = [];
  const sizes = [...new Set(Object.keys(r.metrics).map((k) => sizeOf(k)[1]).filter((n): n is number => n !== null))].sort((a, b) => a - b);
  for (const n of sizes) {
    const m = (k: string) => r.metrics[`${k}@${n}`] ?? NaN;
    const node0 = m('nodeE0Ms');
    const row = (figure: string, value: number, unit: string, ratio = '', target = '', v: Verdict = 'info') =>
      rows.push({ part: 'snapshot (host, --proc-root)', figure, size: n, value, unit, ratio, target, verdict: v });
    row('cat assocs remaddr (plain file)', m('catMs'), 'ms');
    row('node -e 0', node0, 'ms');
    row('sctpdiag status --json', m('statusMs'), 'ms', `${round(m('statusMs') / node0, 2)}× node -e 0`);
    if (!Number.isNaN(m('statusRssMb')))
      row('status peak RSS', m('statusRssMb'), 'MB', '', n >= 10000 ? '≤ 120 MB' : '', n >= 10000 ? verdict(m('statusRssMb'), '<=', 120) : 'info');
    if (!Number.isNaN(m('statusAltMs'))) {
      row('status, alternative build (BENCH_ALT_CLI)', m('statusAltMs'), 'ms', `${round(m('statusAltMs') / m('statusMs'), 2)}× status`);
      row('status peak RSS, alternative build', m('statusAltRssMb'), 'MB');
    }
    row('parse+join (in-process)', m('parseJoinMs'), 'ms', `${round(m('parseJoinMs') / m('statusMs'), 2)}× status`);
    row('collectStatus+JSON.stringify', m('serialiseMs'), 'ms');
  }
  return rows;
}

function snapshotLabRows(r: BenchResult): Row[] {
  const rows: Row[] = [];
  const sizes = [...new Set(Object.keys(r.metrics).map((k) => sizeOf(k)[1]).filter((n): n is number => n !== null))].sort((a, b) => a - b);
  for (const n of sizes) {
    const m = (k: string) => r.metrics[`${k}@${n}`] ?? NaN;
    const floor = m('floorMs');
    const ss = m('ssMs');
    const status = m('statusMs');
    const row = (figure: string, value: number, unit: string, ratio = '', target = '', v: Verdict = 'info') =>
      rows.push({ part: 'snapshot (lab, real kernel)', figure, size: n, value, unit, ratio, target, verdict: v });
    row('cat /proc/net/sctp/assocs', m('catAssocsMs'), 'ms');
    row('cat /proc/net/sctp/remaddr', m('catRemaddrMs'), 'ms');
    row('floor: cat assocs remaddr', floor, 'ms');
    row('ss -S -a -n -i', ss, 'ms', `${round(ss / floor, 1)}× floor`);
    row('node -e 0', m('nodeE0Ms'), 'ms');
    if (!Number.isNaN(m('cliVersionMs'))) row('sctpdiag --version (module load)', m('cliVersionMs'), 'ms');
    // the issue's target (#19): the kernel's own printing of both files, read in this guest, is the floor
    row('sctpdiag status --json', status, 'ms', `${round(status / floor, 2)}× floor`, BIG(n) ? '≤ 1.35× floor' : '', BIG(n) ? verdict(status / floor, '<=', 1.35) : 'info');
    row('status / ss', round(status / ss, 3), '×');
    if (!Number.isNaN(m('statusAltMs'))) {
      row('status, alternative build (BENCH_ALT_CLI)', m('statusAltMs'), 'ms', `${round(m('statusAltMs') / floor, 2)}× floor`);
      row('status peak RSS, alternative build', m('statusAltRssMb'), 'MB');
    }
    if (!Number.isNaN(m('statusAlt2Ms'))) {
      row('status, second alternative (BENCH_ALT2_CLI)', m('statusAlt2Ms'), 'ms', `${round(m('statusAlt2Ms') / floor, 2)}× floor`);
      row('status peak RSS, second alternative', m('statusAlt2RssMb'), 'MB');
    }
    const pj = m('probe_parseJoin');
    row('parse+join (in guest)', pj, 'ms', `${round(pj / floor, 3)}× floor`);
    for (const k of ['readAssocs', 'readAssocsTwoRanges', 'readRemaddr', 'readRemaddrTwoRanges', 'readSnapshot', 'owners', 'serialise'])
      if (!Number.isNaN(m(`probe_${k}`))) row(`status part: ${k}`, m(`probe_${k}`), 'ms', `${round(m(`probe_${k}`) / floor, 2)}× floor`);
    if (!Number.isNaN(m('statusRssMb')))
      row('status peak RSS', m('statusRssMb'), 'MB', '', BIG(n) ? '≤ 120 MB' : '', BIG(n) ? verdict(m('statusRssMb'), '<=', 120) : 'info');
    for (const bs of ['1k', '4k', '64k', '1M'])
      if (!Number.isNaN(m(`ddAssocs${bs}Ms`)))
        row(`read(2) size ${bs}: assocs`, m(`ddAssocs${bs}Ms`), 'ms', `${m(`ddAssocs${bs}Reads`)} reads`);
    // kernel time a periodic full read causes (top/metrics): the fastest period keeping it ≤ 10% of a core
    const full = m('catAssocsMs') + m('catRemaddrMs');
    if (Number.isFinite(full)) {
      row('full procfs read every', round((full / 0.1) / 1000, 1), 's', 'for ≤10% core', 'derived (top/metrics policy)');
      row('remaddr-only read every', round((m('catRemaddrMs') / 0.1) / 1000, 1), 's', 'for ≤10% core', 'derived');
    }
  }
  return rows;
}

/** Targets for metrics of the benches written by others, matched by name. */
const FOREIGN_TARGETS: Array<{ re: RegExp; op: '<=' | '>=' | '=='; limit: number; text: string }> = [
  { re: /lines?PerS(ec(ond)?)?$/i, op: '>=', limit: 200_000, text: '≥ 200k lines/s' },
  { re: /drop/i, op: '==', limit: 0, text: '0 drops at 20k ev/s' },
  { re: /latency.*(median|p50)|(median|p50).*latency/i, op: '<=', limit: 50, text: '≤ 50 ms median' },
  { re: /frame.*(10k|10000)|(10k|10000).*frame/i, op: '<=', limit: 16, text: '≤ 16 ms' },
  { re: /cpu.*(pct|percent|share).*(10k|10000)/i, op: '<=', limit: 2, text: '≤ 2% core' },
  { re: /(rss|heap).*(10k|10000)|(10k|10000).*(rss|heap)/i, op: '<=', limit: 120, text: '≤ 120 MB (RSS target)' },
  { re: /^startRatioVsNode$/, op: '<=', limit: 1.5, text: '≤ 1.5× node -e 0' },
];

function foreignRows(r: BenchResult): Row[] {
  return Object.entries(r.metrics).map(([k, value]) => {
    const t = FOREIGN_TARGETS.find((x) => x.re.test(k));
    return {
      part: r.name,
      figure: k,
      size: null,
      value,
      unit: '',
      ratio: '',
      target: t?.text ?? '',
      verdict: t ? verdict(value, t.op, t.limit) : 'info',
    };
  });
}

/** `trace --json` at a sustained event rate (bench/trace-load.ts): losses, latency, memory. */
export function traceLoadRows(r: BenchResult): Row[] {
  const m = (k: string) => r.metrics[k] ?? NaN;
  const n = Number.isFinite(m('assocs')) ? m('assocs') : null;
  const rate = m('targetRate');
  const at = `at ${fmt(rate)} ev/s`;
  const rows: Row[] = [];
  const row = (figure: string, value: number, unit: string, ratio = '', target = '', v: Verdict = 'info') =>
    rows.push({ part: 'trace --json (load)', figure, size: n, value, unit, ratio, target, verdict: v });
  // a rate needs a second of load to mean anything (--smoke sends 100 events)
  const sustained = m('printfSent') >= rate;
  row('events/s sustained (written to trace)', m('sendRate'), 'ev/s', `${round((m('sendRate') / rate) * 100, 1)}% of ${fmt(rate)}`, sustained ? `≥ ${fmt(rate * 0.98)} ev/s` : '', sustained ? verdict(m('sendRate'), '>=', rate * 0.98) : 'info');
  row('events out (stdout)', m('eventsOut'), '', `of ${fmt(m('eventsSent'))} sent`);
  row('userspace drops', m('userspaceDrops'), '', '', `0 ${at}`, verdict(m('userspaceDrops'), '==', 0));
  row('kernel-side lost, reported / lost', m('kernelLostReported'), '', `of ${fmt(m('kernelLost'))}`, 'all reported', verdict(m('kernelLostReported'), '==', m('kernelLost')));
  row('latency kernel ts → stdout, median', m('latencyP50Ms'), 'ms', '', '≤ 50 ms', verdict(m('latencyP50Ms'), '<=', 50));
  row('latency kernel ts → stdout, p99', m('latencyP99Ms'), 'ms', `max ${fmt(m('latencyMaxMs'))} ms`);
  row('latency of path.metrics bursts, median', m('metricsLatencyP50Ms'), 'ms', `${fmt(m('metricsEventsOut'))} events`);
  row('trace peak RSS', m('peakRssMb'), 'MB', '', '≤ 120 MB', verdict(m('peakRssMb'), '<=', 120));
  row('trace CPU', m('cpuPctOfCore'), '% core');
  if (Number.isFinite(m('stallEventsSent'))) {
    row('slow reader (1.5 s): userspace drops', m('stallUserspaceDrops'), '', `of ${fmt(m('stallEventsSent'))} sent`, '0', verdict(m('stallUserspaceDrops'), '==', 0));
    row('slow reader: kernel-side lost, reported / lost', m('stallKernelLostReported'), '', `of ${fmt(m('stallKernelLost'))}`, 'all reported', verdict(m('stallKernelLostReported'), '==', m('stallKernelLost')));
    row('slow reader: trace peak RSS', m('stallPeakRssMb'), 'MB', '', '≤ 120 MB', verdict(m('stallPeakRssMb'), '<=', 120));
  }
  return rows;
}

/**
 * `top` (bench/top.ts): a 1 Hz tick and an applied full read measured apart,
 * the CPU share at 1 Hz as their mix at the adaptive full-read cadence, and
 * peak RSS of real processes (the CLI replaying a capture; the live loop).
 */
export function topRows(r: BenchResult): Row[] {
  const rows: Row[] = [];
  const sizes = [...new Set(Object.keys(r.metrics).map((k) => sizeOf(k)[1]).filter((n): n is number => n !== null))].sort((a, b) => a - b);
  for (const n of sizes) {
    const m = (k: string) => r.metrics[`${k}@${n}`] ?? NaN;
    const big = n >= 10000;
    const row = (figure: string, value: number, unit: string, ratio = '', target = '', v: Verdict = 'info') =>
      rows.push({ part: 'top (host, 160×50)', figure, size: n, value, unit, ratio, target, verdict: v });
    const frame = (figure: string, value: number, ratio = '') =>
      row(figure, value, 'ms', ratio, big ? '≤ 16 ms' : '', big ? verdict(value, '<=', 16) : 'info');
    const period = m('full_read_every_s');
    row('read+parse of the capture (no kernel walk)', m('read_ms'), 'ms', `full read every ${fmt(period)} s`);
    frame('frame: 1 Hz tick (no read), build + draw', m('tick_frame_ms'), `build ${fmt(m('tick_frame_build_ms'))} ms`);
    frame('frame: full read applied, build + draw', m('apply_frame_ms'), `build ${fmt(m('apply_frame_build_ms'))} ms`);
    frame('frame: key s (re-sort every row) + draw', m('key_sort_frame_ms'));
    row('1,000 live events + one frame', m('events_1000_frame_ms'), 'ms');
    row('CPU per 1 Hz tick', m('tick_cpu_ms'), 'ms');
    row('CPU per full read applied', m('apply_cpu_ms'), 'ms', `read+parse ${fmt(m('read_cpu_ms'))} ms`);
    const share = m('cpu_at_1hz_pct');
    row('CPU share at 1 Hz (ticks + applies)', share, '% core', `1 full read per ${fmt(period)} s`, big ? '≤ 2% core' : '', big ? verdict(share, '<=', 2) : 'info');
    row('CPU share at 1 Hz incl. read+parse', m('cpu_at_1hz_incl_read_pct'), '% core', 'read ≤ 10% by the rule');
    if (!Number.isNaN(m('cli_peak_rss_mb')))
      row('peak RSS: CLI replaying the capture (pty)', m('cli_peak_rss_mb'), 'MB', `first frame ${fmt(m('cli_first_frame_ms'))} ms`, big ? '≤ 120 MB' : '', big ? verdict(m('cli_peak_rss_mb'), '<=', 120) : 'info');
    if (!Number.isNaN(m('live_peak_rss_mb'))) {
      row('peak RSS: live loop (pipeline, full reads)', m('live_peak_rss_mb'), 'MB', `${fmt(m('live_full_reads'))} full reads`, big ? '≤ 120 MB' : '', big ? verdict(m('live_peak_rss_mb'), '<=', 120) : 'info');
      row('live loop CPU outside the reads (GC, pipeline, top)', m('live_cpu_excl_read_pct'), '% core', `all: ${fmt(m('live_cpu_pct'))}%`);
    }
  }
  return rows;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(round(v, Math.abs(v) < 10 ? 2 : 1));
}

export function renderTable(rows: readonly Row[]): string {
  const head = ['part', 'figure', 'assocs', 'value', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.part,
    r.figure,
    r.size === null ? '' : r.size.toLocaleString('en-US'),
    `${fmt(r.value)}${r.unit ? ' ' + r.unit : ''}`,
    r.ratio,
    r.target,
    r.verdict === 'info' ? '' : r.verdict,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i >= 2 && i <= 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i >= 2 && i <= 3 ? '-'.repeat(x + 1) + ':' : '-'.repeat(x + 2))).join('|') + '|', ...body.map(line)].join('\n');
}

async function optional(file: string, fn: string, smoke: boolean): Promise<BenchResult | string> {
  const path = join(HERE, file);
  if (!existsSync(path)) return `${file.replace(/\.js$/, '.ts')} (${fn}) not built/present`;
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const f = mod[fn];
  if (typeof f !== 'function') return `${file} has no export ${fn}`;
  return (await (f as (o: { smoke: boolean }) => Promise<BenchResult>)({ smoke }));
}

/** benches in their own files: part name, compiled file beside this one, export */
const FOREIGN = [
  ['ingest', 'ingest.js', 'benchIngest'],
  ['top', 'top.js', 'benchTop'],
  ['trace', 'trace-load.js', 'benchTraceLoad'],
  ['start', 'start.js', 'benchStart'],
] as const;
export const PARTS: readonly string[] = ['snapshot', ...FOREIGN.map((f) => f[0])];

export async function runBench(o: RunOptions): Promise<RunResult> {
  const want = (p: string) => !o.only || o.only.includes(p);
  const results: BenchResult[] = [];
  const missing: string[] = [];
  const notes: string[] = [];
  const rows: Row[] = [];
  if (want('snapshot')) {
    const h = await benchSnapshotHost({ smoke: o.smoke, sizes: o.sizes, iterations: o.iterations });
    results.push(h);
    rows.push(...snapshotHostRows(h));
    notes.push(...(h.notes ?? []));
    let lab: BenchResult | null = null;
    if (o.labDir) {
      // several dirs (comma-separated) are merged, e.g. a 1k/2k run and a 4k–10k run
      const dirs = o.labDir.split(',');
      const { metrics, notes: n } = labMetrics(dirs.flatMap((d) => parseLabTsv(readFileSync(d.endsWith('.tsv') ? d : join(d, 'results.tsv'), 'utf8'))));
      lab = { name: 'snapshot-lab', metrics, notes: [`lab results re-read from ${o.labDir}`, ...n] };
    } else if (o.lab) {
      lab = await benchSnapshotLab({ smoke: o.smoke, sizes: o.labSizes, iterations: o.iterations });
    }
    if (lab) {
      results.push(lab);
      rows.push(...snapshotLabRows(lab));
      // the targets hold for the executable as shipped: `#!/usr/bin/env node`, no V8 flags
      const flags = cliNodeFlags();
      rows.push({ part: 'snapshot (lab, real kernel)', figure: `V8 flags in the shebang${flags.length ? `: ${flags.join(' ')}` : ''}`, size: null, value: flags.length, unit: '', ratio: '', target: 'none', verdict: verdict(flags.length, '==', 0) });
      notes.push(...(lab.notes ?? []));
    }
  }
  for (const [part, file, fn] of FOREIGN) {
    if (!want(part)) continue;
    try {
      const r = await optional(file, fn, o.smoke);
      if (typeof r === 'string') missing.push(r);
      else {
        results.push(r);
        rows.push(...(part === 'trace' ? traceLoadRows(r) : part === 'top' ? topRows(r) : foreignRows(r)));
        if (part === 'trace' || part === 'top' || part === 'start') notes.push(...(r.notes ?? []));
      }
    } catch (e) {
      notes.push(`${file}: ${(e as Error).message}`);
    }
  }
  const table = renderTable(rows);
  let file: string | null = null;
  if (o.write) {
    const dir = join(PACKAGE_ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const date = new Date().toISOString().slice(0, 10);
    const stem = join(dir, `${date}-${o.lab || o.labDir ? 'lab' : 'host'}${o.smoke ? '-smoke' : ''}`);
    // never overwrite an earlier run of the same day
    file = existsSync(`${stem}.json`) ? `${stem}-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}.json` : `${stem}.json`;
    writeFileSync(
      file,
      JSON.stringify(
        { date: new Date().toISOString(), host: hostname(), node: process.version, options: o, results, rows, missing, notes },
        null,
        2,
      ) + '\n',
    );
  }
  return { rows, table, results, missing, notes, file };
}

export const USAGE = `usage: npm run bench -- [--smoke] [--lab] [--no-write] [--only snapshot,ingest,top,trace,start]
         [--sizes N,N] [--lab-sizes N,N,…] [--iterations N] [--lab-dir DIR|TSV[,…]]`;

function sizes(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const out = v.split(',').map(Number);
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`${flag} ${v}: expected positive whole numbers separated by commas`);
  return out;
}

/** Strict: an unknown option or a bad value is an error naming it (bench exits 2), never a silent full run. */
export function parseArgs(argv: readonly string[]): RunOptions & { help?: boolean } {
  const { values: v } = utilParseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      smoke: { type: 'boolean' },
      lab: { type: 'boolean' },
      'no-write': { type: 'boolean' },
      only: { type: 'string' },
      sizes: { type: 'string' },
      'lab-sizes': { type: 'string' },
      iterations: { type: 'string' },
      'lab-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o: RunOptions & { help?: boolean } = { smoke: v.smoke === true, lab: v.lab === true, write: v['no-write'] !== true };
  if (v.help) o.help = true;
  if (v.only !== undefined) {
    o.only = v.only.split(',');
    const bad = o.only.filter((p) => !PARTS.includes(p));
    if (bad.length) throw new Error(`--only ${v.only}: unknown part ${bad.join(', ')} (parts: ${PARTS.join(', ')})`);
  }
  const s = sizes('--sizes', v.sizes);
  if (s) o.sizes = s;
  const ls = sizes('--lab-sizes', v['lab-sizes']);
  if (ls) o.labSizes = ls;
  if (v.iterations !== undefined) {
    const it = Number(v.iterations);
    if (!Number.isInteger(it) || it <= 0) throw new Error(`--iterations ${v.iterations}: expected a positive whole number`);
    o.iterations = it;
  }
  if (v['lab-dir'] !== undefined) o.labDir = v['lab-dir'];
  return o;
}

async function main(): Promise<void> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const r = await runBench(o);
  process.stdout.write(r.table + '\n');
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
  for (const m of r.missing) process.stdout.write(`missing: ${m}\n`);
  const failed = r.rows.filter((x) => x.verdict === 'FAIL').length;
  const passed = r.rows.filter((x) => x.verdict === 'PASS').length;
  process.stdout.write(`targets: ${passed} pass, ${failed} fail${o.lab || o.labDir ? '' : ' (lab targets need --lab)'}\n`);
  if (r.file) process.stdout.write(`results: ${r.file}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
