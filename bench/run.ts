/**
 * `npm run bench` entry (issue #7): runs every bench, prints ONE table of
 * figures, ratios and pass/fail against the targets, and writes
 * bench/results/<date>-<host|lab>.json.
 *
 *   node dist/bench/run.js [--smoke] [--lab] [--no-write] [--only snapshot,ingest,top]
 *                          [--sizes 1000,10000] [--lab-sizes 1000,2000,…] [--iterations N]
 *                          [--lab-dir DIR|TSV[,…]]  re-read finished lab runs (DIR/results.tsv or a .tsv)
 *
 * --smoke: 1 iteration, 100 associations, no lab unless --lab is given too.
 * Benches written by others (bench/ingest.ts → benchIngest, bench/top.ts →
 * benchTop) are imported only if their compiled file exists; missing ones are
 * listed under the table. Timings are never asserted by tests.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../src/paths.js';
import {
  benchSnapshotHost,
  benchSnapshotLab,
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
    row('sctpdiag status --json', status, 'ms', `${round(status / floor, 2)}× floor`, BIG(n) ? '≤ 1.3× floor' : '', BIG(n) ? verdict(status / floor, '<=', 1.3) : 'info');
    row('status / ss', round(status / ss, 3), '×', '', BIG(n) ? '≤ 0.1× ss' : '', BIG(n) ? verdict(status / ss, '<=', 0.1) : 'info');
    if (!Number.isNaN(m('statusAltMs'))) {
      row('status, alternative build (BENCH_ALT_CLI)', m('statusAltMs'), 'ms', `${round(m('statusAltMs') / floor, 2)}× floor`);
      row('status peak RSS, alternative build', m('statusAltRssMb'), 'MB');
    }
    const pj = m('probe_parseJoin');
    row('parse+join (in guest)', pj, 'ms', `${round(pj / floor, 3)}× floor`, BIG(n) ? '≤ 0.1× floor' : '', BIG(n) ? verdict(pj / floor, '<=', 0.1) : 'info');
    for (const k of ['readAssocs', 'readRemaddr', 'readBothParallel', 'owners', 'serialise'])
      if (!Number.isNaN(m(`probe_${k}`))) row(`status part: ${k}`, m(`probe_${k}`), 'ms', `${round(m(`probe_${k}`) / floor, 2)}× floor`);
    if (!Number.isNaN(m('statusRssMb')))
      row('status peak RSS', m('statusRssMb'), 'MB', '', n >= 10000 ? '≤ 120 MB' : '', n >= 10000 ? verdict(m('statusRssMb'), '<=', 120) : 'info');
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
      notes.push(...(lab.notes ?? []));
    }
  }
  for (const [part, file, fn] of [
    ['ingest', 'ingest.js', 'benchIngest'],
    ['top', 'top.js', 'benchTop'],
  ] as const) {
    if (!want(part)) continue;
    try {
      const r = await optional(file, fn, o.smoke);
      if (typeof r === 'string') missing.push(r);
      else {
        results.push(r);
        rows.push(...foreignRows(r));
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

function list(v: string | undefined): number[] | undefined {
  return v ? v.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined;
}

export function parseArgs(argv: readonly string[]): RunOptions {
  const val = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  const o: RunOptions = { smoke, lab: argv.includes('--lab'), write: !argv.includes('--no-write') };
  const only = val('--only');
  if (only) o.only = only.split(',');
  const sizes = list(val('--sizes'));
  if (sizes) o.sizes = sizes;
  const labSizes = list(val('--lab-sizes'));
  if (labSizes) o.labSizes = labSizes;
  const it = Number(val('--iterations'));
  if (Number.isInteger(it) && it > 0) o.iterations = it;
  const labDir = val('--lab-dir');
  if (labDir) o.labDir = labDir;
  return o;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
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
