/**
 * Benchmark: `trace --json` under a sustained event load (issue #7).
 *
 * The trace process is the built code (dist/), started with the CLI's own
 * node flags (the shebang of dist/src/cli.js), running runTrace() — the
 * `trace` command's body — with `--events all --json`. Only what needs a live
 * SCTP kernel is stood in for: capability detection (every probe "available",
 * bpftrace = the fake below) and the procfs snapshot (a synthesised capture of
 * N associations, bench/synth.ts, re-read as trace re-reads /proc). The
 * supervised runner, setpriv, the pipe, the line parser, the mapper, the
 * enrichment and the stdout sink are the real ones.
 *
 * The fake bpftrace (a node script named `bpftrace` in a temp dir) speaks
 * bpftrace 0.17's JSON: `attached_probes`, then sctpdiag probe printf records
 * (`SCTPDIAG path|hb|rtx|primary|asconf ts=… asoc=…` on the synthesised
 * associations and their real peer addresses) paced at RATE per second, and
 * the path-metrics maps + `metrics_end` every $2 seconds and once at the end
 * (at most 4096 keys: bpftrace's default map size). Each record's ts is the
 * CLOCK_MONOTONIC time the event was due on the paced schedule (the "kernel
 * transition"), so time spent blocked behind a slow reader counts as latency.
 * Like the kernel's perf buffer, the fake holds at most BACKLOG events it could
 * not write yet; beyond that it drops them and prints a `lost_events` record,
 * as bpftrace does. Those are kernel-side losses, reported by sctpdiag as
 * probe.lost_events; userspace drops are events written to sctpdiag's pipe
 * that never came out on its stdout.
 *
 * The parent reads the NDJSON as it arrives: latency = CLOCK_MONOTONIC at
 * receipt − the event's kernelNs (process.hrtime.bigint() reads the same clock
 * as bpf nsecs). Peak RSS is VmHWM of the trace process before it is stopped.
 * Not with --smoke, a second run stops reading trace's stdout for 1.5 s: the
 * loss must then be kernel-side and reported, never inside sctpdiag.
 *
 * Why not `sctpdiag trace` itself: on a host without the sctp module the command
 * stops at "no /proc/net/sctp" and capability detection finds no sctp probes;
 * those two are what the stand-ins replace, nothing else.
 *
 *   node dist/bench/trace-load.js [--smoke]
 *   env: BENCH_TRACE_RATE (20000), BENCH_TRACE_SECONDS (10), BENCH_TRACE_ASSOCS (10000),
 *        BENCH_TRACE_INTERVAL (trace --interval, ms), BENCH_TRACE_NODE_FLAGS (e.g.
 *        "--cpu-prof --cpu-prof-dir=DIR"), BENCH_TRACE_MEMLOG=FILE (memory and
 *        event-loop stalls of the trace process, NDJSON)
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliNodeFlags, round, type BenchResult } from './snapshot.js';
import { synthCapture } from './synth.js';

const SELF = fileURLToPath(import.meta.url);
/** events the fake holds while its reader is slow (~ bpftrace's default 64-page perf buffer per CPU, 2 CPUs) */
const BACKLOG = 4096;
/** bpftrace's default BPFTRACE_MAP_KEYS_MAX */
const MAP_KEYS = 4096;
const USER_HZ = 100;

interface FakeConfig {
  rate: number;
  total: number;
  assocs: number;
  backlog: number;
  mapKeys: number;
  statsFile: string;
}

export interface FakeStats {
  /** printf records written */
  sent: number;
  /** dropped by the fake's "perf buffer" and reported in lost_events records */
  lost: number;
  /** path.metrics events the map prints should produce (keys per print × prints) */
  metricsEvents: number;
  metricsPrints: number;
  /** CLOCK_MONOTONIC ns: first record due, last record written */
  startNs: string;
  doneNs: string;
}

/**
 * The fake bpftrace, CommonJS (it runs from a temp dir without package.json).
 * Addresses and ports are those of bench/synth.ts association i:
 * peers 10.3.hi.lo / 10.4.hi.lo, local port 1024 + i % 60000, peer port 8000.
 */
function fakeScript(cfgPath: string): string {
  return `#!${process.execPath}
'use strict';
const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync(${JSON.stringify(cfgPath)}, 'utf8'));
const metricsS = Number(process.argv[process.argv.length - 1]) || 5;
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
function out(s) {
  const b = Buffer.from(s);
  let off = 0;
  while (off < b.length) {
    try { off += fs.writeSync(1, b, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
const v4 = (a, b, c, d) => (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
const peer = (i, k) => v4(10, 3 + k, (i >> 8) & 255, i & 255);
const head = (tag, i, ts) => 'SCTPDIAG ' + tag + ' ts=' + ts + ' asoc=' + i + ' lport=' + (1024 + (i % 60000)) + ' rport=8000';
const addr = (p, a) => p + 'fam=2 ' + p + 'v4=' + a + ' ' + p + 'w=0,0,0,0';
// one record -> exactly one event (state >= ESTABLISHED, primary with an old address)
const kinds = [
  (i, ts) => head('path', i, ts) + ' cmd=2 err=0 from=2 to=1 ' + addr('', peer(i, 0)) + ' ' + addr('a', peer(i, 1)),
  (i, ts) => head('hb', i, ts) + ' kind=1 rtt=' + (1000000 + i) + ' ' + addr('', peer(i, 1)),
  (i, ts) => head('rtx', i, ts) + ' rto=250 errs=1 ' + addr('', peer(i, 0)),
  (i, ts) => head('hb', i, ts) + ' kind=0 rtt=0 ' + addr('', peer(i, 0)),
  (i, ts) => head('path', i, ts) + ' cmd=0 err=2 from=1 to=2 ' + addr('', peer(i, 0)) + ' ' + addr('a', peer(i, 0)),
  (i, ts) => head('hb', i, ts) + ' kind=1 rtt=' + (2000000 + i) + ' ' + addr('', peer(i, 0)),
  (i, ts) => head('primary', i, ts) + ' st=3 ' + addr('', peer(i, 1)) + ' ' + addr('o', peer(i, 0)),
  (i, ts) => head('hb', i, ts) + ' kind=0 rtt=0 ' + addr('', peer(i, 1)),
  (i, ts) => head('asconf', i, ts) + ' kind=1',
  (i, ts) => head('hb', i, ts) + ' kind=1 rtt=' + (3000000 + i) + ' ' + addr('', peer(i, 0)),
];
const printf = (text) => '{"type": "printf", "data": "' + text + '\\\\n"}\\n';
// metric maps: the first mapKeys paths (two per association)
const keys = [];
for (let i = 1; keys.length < Math.min(cfg.mapKeys, 2 * cfg.assocs); i++) keys.push([i, peer(i, 0)], [i, peer(i, 1)]);
keys.length = Math.min(keys.length, cfg.mapKeys);
const map = (name, val) => '{"type": "map", "data": {"@' + name + '": {' + keys.map(([i, a], n) => '"' + i + ',2,' + a + ',0,0,0,0": ' + val(n)).join(', ') + '}}}\\n';
const maps =
  map('sctpdiag_m_cwnd', (n) => 4380 + n) + map('sctpdiag_m_ssthresh', () => 106496) + map('sctpdiag_m_flight', (n) => n % 3000) +
  map('sctpdiag_m_pmtu', () => 1500) + map('sctpdiag_m_sacks', (n) => 1 + (n % 50)) +
  '{"type": "map", "data": {"@sctpdiag_m_rwnd": {' + [...new Set(keys.map((k) => k[0]))].map((i) => '"' + i + '": 106496').join(', ') + '}}}\\n';
out(JSON.stringify({ type: 'attached_probes', data: { probes: 13 } }) + '\\n');
const t0 = process.hrtime.bigint();
const perNs = 1e9 / cfg.rate;
let made = 0, sent = 0, lost = 0, prints = 0, metricsEvents = 0, nextMetrics = metricsS * 1e9, finalPrint = false, doneNs = t0;
function tick() {
  const now = process.hrtime.bigint();
  const el = Number(now - t0);
  const due = Math.min(cfg.total, Math.floor(el / perNs) + 1);
  let s = '';
  if (due - made > cfg.backlog) {
    const n = due - made - cfg.backlog;
    lost += n;
    made += n;
    s += '{"type": "lost_events", "data": {"events": ' + n + '}}\\n';
  }
  for (; made < due; made++, sent++) {
    const i = 1 + ((made * 7919) % cfg.assocs);
    s += printf(kinds[made % kinds.length](i, (t0 + BigInt(Math.round(made * perNs))).toString()));
  }
  const last = made >= cfg.total;
  if (el >= nextMetrics || (last && !finalPrint)) {
    if (last) finalPrint = true;
    nextMetrics += metricsS * 1e9;
    prints++;
    metricsEvents += keys.length;
    s += maps + printf('SCTPDIAG metrics_end ts=' + process.hrtime.bigint().toString());
  }
  if (s) out(s);
  if (last) {
    doneNs = process.hrtime.bigint();
    fs.writeFileSync(cfg.statsFile, JSON.stringify({ sent, lost, metricsEvents, metricsPrints: prints, startNs: t0.toString(), doneNs: doneNs.toString() }));
    setInterval(() => {}, 60000);
    return;
  }
  setTimeout(tick, 1);
}
tick();
`;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function procStatus(pid: number): { hwmKb: number; rssKb: number } | null {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
    return { hwmKb: kb('VmHWM'), rssKb: kb('VmRSS') };
  } catch {
    return null;
  }
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / USER_HZ;
  } catch {
    return NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TraceLoadOptions {
  smoke: boolean;
  /** events per second (default 20,000; env BENCH_TRACE_RATE) */
  rate?: number;
  /** seconds of load (default 10; env BENCH_TRACE_SECONDS) */
  seconds?: number;
  /** associations in the snapshot (default 10,000; env BENCH_TRACE_ASSOCS) */
  assocs?: number;
}

interface LoadRun {
  rate: number;
  total: number;
  assocs: number;
  capture: string;
  tmp: string;
  /** the reader stops reading trace's stdout for this long once this many events came out */
  stall?: { afterEvents: number; ms: number };
}

interface LoadFigures {
  stats: FakeStats;
  bpfOut: number;
  metricsOut: number;
  kernelLostReported: number;
  lostEventsLines: number;
  restarts: number;
  latency: Float64Array;
  metricsLatency: Float64Array;
  outRate: number;
  peakRssKb: number;
  cpuPct: number;
}

/** One run of the trace process under the fake's load; the parent reads its NDJSON as it comes. */
async function runLoad(o: LoadRun): Promise<LoadFigures> {
  const statsFile = join(o.tmp, `fake-stats-${o.total}-${o.stall ? 's' : 'n'}.json`);
  const cfgFile = join(o.tmp, 'fake.json');
  const cfg: FakeConfig = { rate: o.rate, total: o.total, assocs: o.assocs, backlog: BACKLOG, mapKeys: MAP_KEYS, statsFile };
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const fake = join(o.tmp, 'bpftrace');
  writeFileSync(fake, fakeScript(cfgFile));
  chmodSync(fake, 0o755);
  const childCfg = join(o.tmp, 'child.json');
  writeFileSync(childCfg, JSON.stringify({ fake, capture: o.capture }));

  const flags = cliNodeFlags();
  // e.g. BENCH_TRACE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (flags only, no shell)
  flags.push(...(process.env.BENCH_TRACE_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.startsWith('--')));
  const child = spawn(process.execPath, [...flags, SELF, '--child', childCfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let exited: number | string | null = null;
  const closed = new Promise<void>((r) => child.on('close', (code, sig) => ((exited = code ?? sig), r())));
  const tail = () => stderr.trim().split('\n').slice(-3).join(' | ');

  // latency of the printf events (one kernel transition each) and of path.metrics (a burst per map print)
  const lat = new Float64Array(o.total);
  let nLat = 0;
  const mLat: number[] = [];
  let bpfOut = 0;
  let metricsOut = 0;
  let kernelLostReported = 0;
  let lostEventsLines = 0;
  let restarts = 0;
  let attachedAt = 0;
  let firstNs = 0n;
  let lastNs = 0n;
  let lastDataMs = Date.now();
  let stalled = false;
  let buf = '';
  const onLine = (line: string, now: bigint) => {
    const k = line.indexOf('"kernelNs":"');
    if (k >= 0) {
      const ms = Number(now - BigInt(line.slice(k + 12, line.indexOf('"', k + 12)))) / 1e6;
      bpfOut++;
      if (line.includes('"type":"path.metrics"')) {
        metricsOut++;
        mLat.push(ms);
      } else if (nLat < lat.length) lat[nLat++] = ms;
      if (firstNs === 0n) firstNs = now;
      lastNs = now;
      return;
    }
    if (line.includes('"type":"probe.lost_events"')) {
      lostEventsLines++;
      kernelLostReported = (JSON.parse(line) as { metrics: { total: number } }).metrics.total;
    } else if (line.includes('"type":"source.changed"')) {
      const e = JSON.parse(line) as { from: string | null; to: string };
      if (e.to === 'bpf' && !attachedAt) attachedAt = Date.now();
      if (e.from === 'bpf') restarts++;
    }
  };
  const stdout = child.stdout!;
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    const now = process.hrtime.bigint();
    lastDataMs = Date.now();
    buf += chunk;
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      onLine(buf.slice(start, nl), now);
      start = nl + 1;
    }
    buf = buf.slice(start);
    if (o.stall && !stalled && bpfOut >= o.stall.afterEvents) {
      stalled = true;
      stdout.pause();
      setTimeout(() => {
        lastDataMs = Date.now();
        stdout.resume();
      }, o.stall.ms);
    }
  });

  // wait: attached, the fake done, every event out (or 2 s without output)
  const deadline = Date.now() + 30_000 + (o.total / o.rate) * 3000;
  let cpuAtAttach = NaN;
  let peakRssKb = 0;
  let stats: FakeStats | null = null;
  for (;;) {
    await sleep(50);
    if (exited !== null) throw new Error(`trace exited early (${exited}): ${tail()}`);
    if (Date.now() > deadline) break;
    const s = procStatus(pid);
    if (s) peakRssKb = Math.max(peakRssKb, s.rssKb, s.hwmKb);
    if (attachedAt && Number.isNaN(cpuAtAttach)) cpuAtAttach = cpuSeconds(pid);
    if (!stats && existsSync(statsFile)) stats = JSON.parse(readFileSync(statsFile, 'utf8')) as FakeStats;
    if (stats && !stdout.isPaused() && (bpfOut >= stats.sent + stats.metricsEvents || Date.now() - lastDataMs > 2000)) break;
  }
  const endMs = Date.now();
  const cpuEnd = cpuSeconds(pid);
  const st = procStatus(pid);
  if (st) peakRssKb = Math.max(peakRssKb, st.hwmKb);
  child.kill('SIGINT');
  const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  await closed;
  clearTimeout(kill);
  if (!stats) throw new Error(`the fake bpftrace did not finish (${bpfOut} events out): ${tail()}`);
  const outS = Number(lastNs - firstNs) / 1e9;
  return {
    stats,
    bpfOut,
    metricsOut,
    kernelLostReported,
    lostEventsLines,
    restarts,
    latency: lat.slice(0, nLat).sort(),
    metricsLatency: Float64Array.from(mLat).sort(),
    outRate: outS > 0 ? Math.round(bpfOut / outS) : NaN,
    peakRssKb,
    cpuPct: attachedAt ? ((cpuEnd - cpuAtAttach) / ((endMs - attachedAt) / 1000)) * 100 : NaN,
  };
}

/**
 * Steady load (rate for `seconds`), then (not with --smoke) a slow reader: the
 * same load for 4 s with trace's stdout unread for 1.5 s in the middle. There
 * the events the fake's perf buffer cannot hold are lost kernel-side, and
 * sctpdiag must report exactly those (probe.lost_events) and lose nothing itself.
 */
export async function benchTraceLoad(opts: TraceLoadOptions): Promise<BenchResult> {
  const envNum = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);
  const rate = opts.rate ?? envNum('BENCH_TRACE_RATE') ?? 20_000;
  const seconds = opts.seconds ?? envNum('BENCH_TRACE_SECONDS') ?? 10;
  const assocs = opts.assocs ?? envNum('BENCH_TRACE_ASSOCS') ?? (opts.smoke ? 100 : 10_000);
  const total = opts.smoke ? 100 : Math.round(rate * seconds);
  const tmp = mkdtempSync(join(tmpdir(), 'sctpdiag-trace-load-'));
  try {
    const capture = synthCapture(join(tmp, 'capture'), assocs);
    const r = await runLoad({ rate, total, assocs, capture, tmp });
    const expected = r.stats.sent + r.stats.metricsEvents;
    const sendS = Number(BigInt(r.stats.doneNs) - BigInt(r.stats.startNs)) / 1e9;
    const notes: string[] = [];
    if (r.restarts) notes.push(`trace-load: bpftrace was restarted ${r.restarts} time(s) during the run`);
    if (r.stats.lost) notes.push(`trace-load: the fake's perf buffer (${BACKLOG} events) overflowed in the steady run: ${r.stats.lost} events lost kernel-side`);
    const metrics: Record<string, number> = {
      assocs,
      targetRate: rate,
      eventsSent: expected,
      printfSent: r.stats.sent,
      metricsEventsSent: r.stats.metricsEvents,
      eventsOut: r.bpfOut,
      metricsEventsOut: r.metricsOut,
      userspaceDrops: expected - r.bpfOut,
      kernelLost: r.stats.lost,
      kernelLostReported: r.kernelLostReported,
      sendRate: Math.round(r.stats.sent / sendS),
      outRate: r.outRate,
      latencyP50Ms: round(percentile(r.latency, 0.5), 2),
      latencyP99Ms: round(percentile(r.latency, 0.99), 2),
      latencyMaxMs: round(r.latency.length ? r.latency[r.latency.length - 1]! : NaN, 2),
      metricsLatencyP50Ms: round(percentile(r.metricsLatency, 0.5), 2),
      metricsLatencyP99Ms: round(percentile(r.metricsLatency, 0.99), 2),
      peakRssMb: round(r.peakRssKb / 1024, 1),
      cpuPctOfCore: round(r.cpuPct, 1),
    };
    if (!opts.smoke) {
      const s = await runLoad({ rate, total: rate * 4, assocs, capture, tmp, stall: { afterEvents: rate * 1.5, ms: 1500 } });
      metrics.stallEventsSent = s.stats.sent + s.stats.metricsEvents;
      metrics.stallEventsOut = s.bpfOut;
      metrics.stallUserspaceDrops = s.stats.sent + s.stats.metricsEvents - s.bpfOut;
      metrics.stallKernelLost = s.stats.lost;
      metrics.stallKernelLostReported = s.kernelLostReported;
      metrics.stallLostEventsLines = s.lostEventsLines;
      metrics.stallPeakRssMb = round(s.peakRssKb / 1024, 1);
      if (s.kernelLostReported !== s.stats.lost)
        notes.push(`trace-load (slow reader): sctpdiag reported ${s.kernelLostReported} lost events, the fake dropped ${s.stats.lost}`);
    }
    return { name: 'trace-load', notes, metrics };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Diagnostics (BENCH_TRACE_MEMLOG=FILE): memory every 50 ms, event-loop stalls over 30 ms, as NDJSON. */
async function memLog(file: string): Promise<void> {
  const { appendFileSync } = await import('node:fs');
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  setInterval(() => {
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    const o: Record<string, number> = { t: Date.now(), hwmKb, stdoutQueued: process.stdout.writableLength, ...process.memoryUsage() };
    if (lag.max > 30e6) o.lagMaxMs = Math.round(lag.max / 1e6);
    lag.reset();
    appendFileSync(file, JSON.stringify(o) + '\n');
  }, 50).unref();
}

/** The trace process: runTrace() as `sctpdiag --json trace --events all` runs it. */
async function child(cfgPath: string): Promise<void> {
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { fake: string; capture: string };
  // the CLI's module graph, as `sctpdiag` loads it before the command runs
  // (src/program.ts; src/cli.ts before it was split out of it)
  for (const m of ['../src/program.js', '../src/cli.js']) {
    const mod = (await import(m).catch(() => null)) as { buildProgram?: (only?: string) => unknown } | null;
    if (typeof mod?.buildProgram === 'function') {
      await mod.buildProgram('trace');
      break;
    }
  }
  const [{ runTrace }, { traceSettings }] = await Promise.all([import('../src/trace/run.js'), import('../src/commands/trace.js')]);
  const { readSnapshot } = await import('../src/procfs/read.js');
  const { loadProbeFiles } = await import('../src/trace/probes.js');
  const { makeStyle } = await import('../src/render/style.js');
  const files = loadProbeFiles();
  if (process.env.BENCH_TRACE_MEMLOG) await memLog(process.env.BENCH_TRACE_MEMLOG);
  const interval = process.env.BENCH_TRACE_INTERVAL;
  await runTrace(traceSettings({ events: 'all', ...(interval ? { interval } : {}) }), {
    procRoot: '/proc',
    netns: null,
    hz: undefined,
    json: true,
    style: makeStyle(false),
    pipeline: {
      probeFiles: files,
      capabilities: { bpftrace: cfg.fake, unavailable: null, probes: files.map((f) => ({ name: f.name, events: f.events, ok: true, missing: [] })) },
      read: () => readSnapshot({ procRoot: cfg.capture, netns: null, owners: false }),
    },
  });
}

// node dist/bench/trace-load.js [--smoke]          run the bench
// node dist/bench/trace-load.js --child CFG        (internal) the trace process
if (process.argv[1] === SELF) {
  const i = process.argv.indexOf('--child');
  if (i >= 0)
    child(process.argv[i + 1]!).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`trace-load child: ${(e as Error).stack ?? String(e)}\n`);
        process.exit(1);
      },
    );
  else benchTraceLoad({ smoke: process.argv.includes('--smoke') }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

