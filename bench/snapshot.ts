/**
 * Snapshot benchmark (issue #7, part 1).
 *
 * Host part: `--proc-root` captures synthesised by bench/synth.ts (real captured
 * rows repeated with new ids/addresses) at 1k and 10k associations:
 *   - `cat assocs remaddr`            (on the host a plain file: no kernel generation)
 *   - `node -e 0`                     (the runtime's own start-up)
 *   - `sctpdiag status --json`        wall time and peak RSS (/usr/bin/time -f %M)
 *   - in-process parse+join           parse{Assocs,Remaddr,Eps,Snmp} + buildSnapshot
 *   - in-process serialise            collectStatus + JSON.stringify
 *
 * Lab part (bench/lab/snapshot.sh in a QEMU guest, real kernel): the same tools
 * at 1k..10k real associations beside `ss -S -a -n -i` and the procfs floor
 * (`cat` of assocs + remaddr), plus read-size experiments (dd bs=1k/4k/64k/1M)
 * and a perf profile of the kernel while it generates assocs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import { parseAssocs, parseEps, parseRemaddr, parseSnmp } from '../src/procfs/parse.js';
import { buildSnapshot } from '../src/model/snapshot.js';
import { collectStatus } from '../src/commands/status.js';
import { synthCapture } from './synth.js';

export interface BenchResult {
  name: string;
  metrics: Record<string, number>;
  /** free-form notes shown under the table (what was capped, skipped…) */
  notes?: string[];
}

export const CLI = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');

/**
 * The V8 flags of the executable's shebang (`#!/usr/bin/env -S node --flags`):
 * every bench that runs the CLI's code in a node of its own uses them.
 */
export function cliNodeFlags(cliText?: string): string[] {
  let text = cliText;
  try {
    text ??= readFileSync(CLI, 'utf8');
  } catch {
    return []; // not built
  }
  const first = text.slice(0, text.indexOf('\n'));
  const m = /^#!.*?\bnode\b(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter((f) => f.startsWith('--')) : [];
}
const TIME = '/usr/bin/time';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface Timed {
  ms: number;
  rc: number | null;
  /** peak RSS of the child in MB, when /usr/bin/time is there */
  rssMb?: number;
}

/** Run argv with stdout to /dev/null; wall time from fork to reap. */
export function timeSpawn(argv: readonly string[], withRss = false): Timed {
  const useTime = withRss && existsSync(TIME);
  const rssFile = useTime ? join(tmpdir(), `sctpdiag-bench-rss-${process.pid}`) : '';
  const full = useTime ? [TIME, '-f', '%M', '-o', rssFile, ...argv] : [...argv];
  const devnull = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(full[0]!, full.slice(1), { stdio: ['ignore', devnull, 'pipe'], maxBuffer: 64 << 20 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const out: Timed = { ms, rc: r.status };
    if (useTime) {
      const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      if (Number.isFinite(kb)) out.rssMb = kb / 1024;
      rmSync(rssFile, { force: true });
    }
    return out;
  } finally {
    closeSync(devnull);
  }
}

const HZ = { value: 250, source: 'option' as const, detail: 'bench' };

/** parse + join of already-read texts, in-process (what status does after read()). */
export function parseJoin(t: { assocs: string; remaddr: string; eps: string; snmp: string }) {
  const assocs = parseAssocs(t.assocs);
  const remaddr = parseRemaddr(t.remaddr);
  const eps = parseEps(t.eps);
  const snmp = parseSnmp(t.snmp);
  return buildSnapshot({ takenAt: new Date(0), netns: null, kernelRelease: null, hz: HZ, assocs, remaddr, eps, snmp });
}

function timeIt<T>(f: () => T): [number, T] {
  const t0 = process.hrtime.bigint();
  const v = f();
  return [Number(process.hrtime.bigint() - t0) / 1e6, v];
}

export interface SnapshotHostOptions {
  smoke: boolean;
  sizes?: number[];
  iterations?: number;
}

/** Host: synthesised --proc-root captures. Metric names end in `@<size>`. */
export async function benchSnapshotHost(o: SnapshotHostOptions): Promise<BenchResult> {
  const sizes = o.sizes ?? (o.smoke ? [100] : [1000, 10000]);
  const iters = o.iterations ?? (o.smoke ? 1 : 5);
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  const base = mkdtempSync(join(tmpdir(), 'sctpdiag-bench-'));
  try {
    for (const n of sizes) {
      const dir = synthCapture(join(base, `n${n}`), n);
      const f = (x: string) => join(dir, 'net', 'sctp', x);
      const texts = {
        assocs: readFileSync(f('assocs'), 'utf8'),
        remaddr: readFileSync(f('remaddr'), 'utf8'),
        eps: readFileSync(f('eps'), 'utf8'),
        snmp: readFileSync(f('snmp'), 'utf8'),
      };
      const cat: number[] = [];
      const node0: number[] = [];
      const status: number[] = [];
      const rss: number[] = [];
      const pj: number[] = [];
      const ser: number[] = [];
      let rcBad = 0;
      let altMs: number[] | undefined;
      let altRss: number[] | undefined;
      // warm the page cache and the JIT once
      parseJoin(texts);
      for (let i = 0; i < iters; i++) {
        cat.push(timeSpawn(['cat', f('assocs'), f('remaddr')]).ms);
        node0.push(timeSpawn([process.execPath, '-e', '0']).ms);
        // run as operators do: the executable itself, so its shebang's V8 flags apply
        const s = timeSpawn([CLI, '--proc-root', dir, 'status', '--json'], true);
        if (s.rc !== 0) rcBad++;
        status.push(s.ms);
        if (s.rssMb !== undefined) rss.push(s.rssMb);
        const alt = process.env['BENCH_ALT_CLI'];
        if (alt && existsSync(alt)) {
          const sa = timeSpawn([process.execPath, alt, '--proc-root', dir, 'status', '--json'], true);
          (altMs ??= []).push(sa.ms);
          if (sa.rssMb !== undefined) (altRss ??= []).push(sa.rssMb);
        }
        const [tp, snap] = timeIt(() => parseJoin(texts));
        pj.push(tp);
        ser.push(timeIt(() => JSON.stringify(collectStatus(snap, {}, 'bench')))[0]);
      }
      if (rcBad) notes.push(`host ${n}: status exited non-zero ${rcBad}×`);
      const floor = median(cat);
      metrics[`catMs@${n}`] = round(floor, 2);
      metrics[`nodeE0Ms@${n}`] = round(median(node0));
      metrics[`statusMs@${n}`] = round(median(status));
      if (rss.length) metrics[`statusRssMb@${n}`] = round(Math.max(...rss));
      if (altMs) metrics[`statusAltMs@${n}`] = round(median(altMs));
      if (altRss) metrics[`statusAltRssMb@${n}`] = round(Math.max(...altRss));
      metrics[`parseJoinMs@${n}`] = round(median(pj), 2);
      metrics[`serialiseMs@${n}`] = round(median(ser), 2);
      metrics[`statusMinusNodeMs@${n}`] = round(median(status) - median(node0));
      metrics[`assocs@${n}`] = n;
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return { name: 'snapshot-host', metrics, notes };
}

// ---- lab ------------------------------------------------------------------

export interface SnapshotLabOptions {
  smoke: boolean;
  sizes?: number[];
  iterations?: number;
  /** per-command cap inside the guest, seconds */
  capS?: number;
  memMb?: number;
  timeoutMs?: number;
}

export interface LabRow {
  size: number;
  tool: string;
  iter: number;
  ms: number;
  rc: number;
  extra: string;
}

/** results.tsv written by bench/lab/snapshot.sh: size tool iter ms rc extra */
export function parseLabTsv(text: string): LabRow[] {
  const rows: LabRow[] = [];
  for (const line of text.split('\n')) {
    const p = line.split('\t');
    if (p.length < 5 || !/^\d+$/.test(p[0]!)) continue;
    rows.push({ size: Number(p[0]), tool: p[1]!, iter: Number(p[2]), ms: Number(p[3]), rc: Number(p[4]), extra: p[5] ?? '' });
  }
  return rows;
}

/** Reduce the raw rows to metrics `<tool>Ms@<size>` (median over iterations) and friends. */
export function labMetrics(rows: readonly LabRow[]): { metrics: Record<string, number>; notes: string[] } {
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  const groups = new Map<string, LabRow[]>();
  for (const r of rows) {
    const k = `${r.tool}@${r.size}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [k, rs] of groups) {
    const [tool, size] = k.split('@') as [string, string];
    const capped = rs.filter((r) => r.rc === 124);
    if (capped.length) notes.push(`lab ${size}: ${tool} capped by timeout ${capped.length}× (figure is a lower bound)`);
    if (tool === 'statusRss' || tool === 'statusAltRss' || tool === 'statusAlt2Rss') {
      metrics[`${tool}Mb@${size}`] = round(Math.max(...rs.map((r) => r.ms)) / 1024);
      continue;
    }
    if (tool === 'assocsRows' || tool === 'remaddrRows' || tool === 'genSeconds' || tool.startsWith('probe_') || tool.startsWith('cli_')) {
      metrics[`${tool}@${size}`] = rs[0]!.ms;
      continue;
    }
    metrics[`${tool}Ms@${size}`] = round(median(rs.map((r) => r.ms)));
    const reads = rs.map((r) => /reads=(\d+)/.exec(r.extra)?.[1]).filter((x): x is string => x !== undefined);
    if (reads.length) metrics[`${tool}Reads@${size}`] = Number(reads[0]);
  }
  return { metrics, notes };
}

export async function benchSnapshotLab(o: SnapshotLabOptions): Promise<BenchResult> {
  const sizes = o.sizes ?? (o.smoke ? [100] : [1000, 8000, 10000]);
  const iters = o.iterations ?? (o.smoke ? 1 : 3);
  // test/lab/vm.js is compiled beside us in dist/test/lab
  const vm = (await import('../test/lab/vm.js')) as typeof import('../test/lab/vm.js');
  const st = vm.labStatus();
  if (!st.available) return { name: 'snapshot-lab', metrics: {}, notes: [`lab unavailable: ${st.reason}`] };
  const script = `set -o pipefail
export BENCH_SIZES="${sizes.join(' ')}" BENCH_ITERS=${iters} BENCH_CAP=${o.capS ?? 240} BENCH_PERF_AT=${sizes[1] ?? sizes[0]}${process.env['BENCH_ALT_CLI'] ? ` BENCH_ALT_CLI=${process.env['BENCH_ALT_CLI']}` : ''}${process.env['BENCH_ALT2_CLI'] ? ` BENCH_ALT2_CLI=${process.env['BENCH_ALT2_CLI']}` : ''}${process.env['BENCH_QUICK'] ? ' BENCH_QUICK=1' : ''}${/^\d{1,2}$/.test(process.env['BENCH_LARGE_ITERS'] ?? '') ? ` BENCH_LARGE_ITERS=${process.env['BENCH_LARGE_ITERS']}` : ''}${['BENCH_ALT_FLAGS', 'BENCH_ALT2_FLAGS'].map((k) => ` ${k}='${(process.env[k] ?? cliNodeFlags().join(' ')).replace(/[^\w=. -]/g, '')}'`).join('')}
source "$LAB_REPO/bench/lab/snapshot.sh"
`;
  const maxN = Math.max(...sizes);
  const r = await vm.runInGuest({
    script,
    memMb: o.memMb ?? (maxN > 4000 ? 4096 : maxN > 1000 ? 2048 : 1024),
    timeoutMs: o.timeoutMs ?? 60 * 60_000,
  });
  const tsvPath = join(r.outDir, 'results.tsv');
  const rows = existsSync(tsvPath) ? parseLabTsv(readFileSync(tsvPath, 'utf8')) : [];
  const { metrics, notes } = labMetrics(rows);
  notes.unshift(`lab guest: exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}, ${round(r.durationMs / 1000)} s, outDir ${r.outDir}`);
  if (r.exitCode !== 0) notes.push(`guest stderr tail: ${r.stderr.slice(-800).replace(/\s+/g, ' ')}`);
  return { name: 'snapshot-lab', metrics, notes };
}
