/**
 * `sctpdiag top` at scale (issue #7 targets at 10k associations, two paths
 * each: frame ≤ 16 ms, ≤ 2% of one core at 1 Hz, peak RSS ≤ 120 MB), from
 * synthesised captures (bench/synth.ts: real captured rows repeated with new
 * ids and addresses) at 1k and 10k.
 *
 * top does two kinds of work, measured apart (in-process, fake 160×50 screen):
 *  - a full read: read+parse (src/procfs), then applySnapshot + frame + draw.
 *    Every RTXC and RTO is moved before each apply, so nothing can be reused.
 *  - a 1 Hz tick between full reads: frame + draw of the visible rows only.
 * Full reads come at the adaptive cadence P = nextReadMs(1 s, read) (≥ 10×
 * the read's duration). The CPU share at 1 Hz is the real mix over one period:
 * (apply + (P − 1) × tick) / P. The read here is this host's read of a plain
 * file (no kernel walk), so P is the shortest possible and the share an upper
 * bound; a real kernel's read is slower (the lab's 10k read: 7.4 s → P = 60 s).
 * The read+parse itself is bounded at ≤ 10% of wall time by that same rule and
 * measured by bench/snapshot.ts; a second figure includes it anyway.
 *
 * Peak RSS is measured on real processes with the bin's V8 flags (read from
 * its shebang):
 *  - the built CLI, `top --proc-root <capture>` (one read) under a pty
 *    (script(1), stty 160×50), VmHWM read once the table is drawn, then `q`;
 *  - a live loop: runTop as the CLI runs it live (event pipeline with
 *    --no-bpf polling top's latest snapshot), its read re-reading the capture
 *    with moved values, for some seconds at the adaptive cadence. Its CPU
 *    outside the read calls is the pipeline's diffs, top, and the GC (most
 *    of it collecting what the reads allocated).
 * CPU is user+system time (process.cpuUsage, all threads) of the measured work.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readSnapshot } from '../src/procfs/read.js';
import type { Snapshot } from '../src/model/snapshot.js';
import { EVENT_SCHEMA_VERSION, type SctpEvent } from '../src/events/types.js';
import { TopState } from '../src/top/state.js';
import { nextReadMs } from '../src/kernel/pacing.js';
import { TopScreen } from '../src/top/screen.js';
import { synthCapture } from './synth.js';
import { cliNodeFlags, median, round, type BenchResult } from './snapshot.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** the executable's V8 flags (none since issue #19): every measured process uses them */
const NODE_FLAGS = cliNodeFlags();

function fakeIo(cols: number, rows: number) {
  const output = Object.assign(new PassThrough(), { columns: cols, rows, isTTY: true });
  output.resume();
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  return { input, output, terminal: 'xterm-256color' };
}

function fakeScreen(cols: number, rows: number): TopScreen {
  return new TopScreen(fakeIo(cols, rows), () => {}, () => {});
}

/** The next refresh, in place: every RTXC and RTO moved, so nothing can be reused. */
function move(s: Snapshot, k: number): Snapshot {
  for (const a of s.associations) {
    a.retransmittedChunks += k;
    for (const p of a.paths) p.rtoMs += k;
  }
  return s;
}

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

function pathEvent(id: number, path: string, to: 'PF' | 'ACTIVE', rtoMs: number): SctpEvent {
  return {
    schemaVersion: EVENT_SCHEMA_VERSION,
    time: '2026-11-01T12:00:00.000Z',
    type: 'path.state',
    source: 'bpf',
    severity: to === 'PF' ? 'warn' : 'info',
    netns: null,
    assoc: { id },
    path,
    from: to === 'PF' ? 'ACTIVE' : 'PF',
    to,
    metrics: { rtoMs },
  };
}

interface LiveResult {
  reads: number;
  draws: number;
  readMs: number;
  readCpuMs: number;
  cpuMs: number;
  wallMs: number;
  hwmMb: number;
}

/**
 * The live loop in this process (`node … dist/bench/top.js --live DIR SECONDS`).
 * CPU and reads are counted from the first frame after the first full read
 * (start-up, module loading and the terminal set-up are not the steady state).
 */
async function liveChild(dir: string, seconds: number): Promise<LiveResult> {
  const { runTop } = await import('../src/top/run.js');
  const io = fakeIo(160, 50);
  let reads = 0;
  let draws = 0;
  let readMs = 0;
  let readCpuMs = 0;
  let from: { cpu: NodeJS.CpuUsage; t: number; reads: number; draws: number } | null = null;
  setTimeout(() => io.input.write('q'), seconds * 1000);
  await runTop({
    procRoot: '/proc',
    netns: null,
    intervalMs: 1000,
    noBpf: true,
    log: null,
    io,
    stateDir: null,
    processHooks: false,
    // the real pipeline (procfs polling, no bpftrace), diffing what top last read
    read: async () => {
      const c = process.cpuUsage();
      const a = performance.now();
      const s = move(await readSnapshot({ procRoot: dir, netns: null }), ++reads);
      if (from) {
        readMs += performance.now() - a;
        readCpuMs += cpuMs(process.cpuUsage(c));
      }
      return s;
    },
    onDraw: () => {
      draws++;
      if (!from && reads > 0) from = { cpu: process.cpuUsage(), t: performance.now(), reads, draws };
    },
  });
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  const f = from ?? { cpu: process.cpuUsage(), t: performance.now(), reads, draws };
  return {
    reads: reads - f.reads,
    draws: draws - f.draws,
    readMs,
    readCpuMs,
    cpuMs: cpuMs(process.cpuUsage(f.cpu)),
    wallMs: performance.now() - f.t,
    hwmMb: hwm / 1024,
  };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ out, code });
    });
  });
}

async function measureLive(dir: string, seconds: number): Promise<LiveResult> {
  const r = await run(process.execPath, [...NODE_FLAGS, join(HERE, 'top.js'), '--live', dir, String(seconds)], (seconds + 30) * 1000);
  const line = r.out.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`live top exited ${r.code}: ${r.out.slice(-300)}`);
  return JSON.parse(line) as LiveResult;
}

/** the process whose parent is `ppid` (script(1) execs the command's shell, which execs node) */
function childPid(ppid: number): number | null {
  let dirs: string[] = [];
  try {
    dirs = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}

/**
 * Peak RSS of the built CLI replaying a capture, on a pseudo-terminal of
 * 160×50 (script(1)): VmHWM once the table is on screen (and a second
 * later), then `q`. null when script(1) is missing or the screen never came.
 */
async function measureCli(dir: string, timeoutMs = 20_000): Promise<{ hwmMb: number; drawnMs: number } | null> {
  const cli = join(HERE, '..', 'src', 'cli.js');
  if (!existsSync(cli) || !existsSync('/usr/bin/script')) return null;
  const cmd = `stty cols 160 rows 50; exec ${process.execPath} ${NODE_FLAGS.join(' ')} ${cli} top --proc-root ${dir}`;
  const t0 = performance.now();
  const c = spawn('script', ['-qfc', cmd, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8' },
  });
  c.stdin.on('error', () => {}); // it may be gone already
  let out = '';
  let drawnAt: number | null = null;
  c.stdout.on('data', (d: Buffer) => {
    // eslint-disable-next-line no-control-regex
    out = (out + d.toString('utf8').replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '')).slice(-4096);
    if (drawnAt === null && /\d+\s*assocs/.test(out)) drawnAt = performance.now();
  });
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  try {
    while (performance.now() - t0 < timeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      if (drawnAt !== null && performance.now() - drawnAt >= 1000) break;
      if (c.exitCode !== null) return null;
    }
    if (drawnAt === null) return null;
    const pid = c.pid === undefined ? null : childPid(c.pid);
    if (pid === null) return null;
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return { hwmMb: hwm / 1024, drawnMs: (drawnAt as number) - t0 };
  } finally {
    c.stdin.write('q');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await closed;
    clearTimeout(t);
  }
}

export async function benchTop(opts: { smoke: boolean }): Promise<BenchResult> {
  const sizes = opts.smoke ? [1000] : [1000, 10000];
  const reps = opts.smoke ? 3 : 10;
  /** 1 Hz ticks measured after each full read */
  const ticksPerRead = 5;
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-bench-top-'));
    const m = (k: string, v: number) => (metrics[`${k}@${n}`] = round(v, 2));
    try {
      synthCapture(dir, n);
      const state = new TopState({ host: 'bench', baseIntervalMs: 1000, replay: null });
      const screen = fakeScreen(160, 50);
      state.resize(screen.width, screen.height);
      state.applySnapshot(await readSnapshot({ procRoot: dir, netns: null }), { atMs: 0, readMs: 1 });
      screen.draw(state.frame());
      const read: number[] = [];
      const readCpu: number[] = [];
      const apply: number[] = [];
      const applyBuild: number[] = [];
      const applyCpu: number[] = [];
      const tick: number[] = [];
      const tickBuild: number[] = [];
      let tickCpu = 0;
      const keys: number[] = [];
      const events: number[] = [];
      let now = 0;
      for (let i = 1; i <= reps; i++) {
        let c = process.cpuUsage();
        let a = performance.now();
        const next = await readSnapshot({ procRoot: dir, netns: null });
        read.push(performance.now() - a);
        readCpu.push(cpuMs(process.cpuUsage(c)));
        move(next, i);
        now += 2000;
        c = process.cpuUsage();
        a = performance.now();
        state.applySnapshot(next, { atMs: now, readMs: read.at(-1)! });
        const f = state.frame();
        const b = performance.now();
        screen.draw(f);
        apply.push(performance.now() - a);
        applyBuild.push(b - a);
        applyCpu.push(cpuMs(process.cpuUsage(c)));
        // the 1 Hz ticks until the next full read: the header's age moves, nothing else
        c = process.cpuUsage();
        for (let k = 0; k < ticksPerRead; k++) {
          now += 1000;
          a = performance.now();
          state.tick(now);
          const tf = state.frame();
          const tb = performance.now();
          screen.draw(tf);
          tick.push(performance.now() - a);
          tickBuild.push(tb - a);
        }
        tickCpu += cpuMs(process.cpuUsage(c));
        // a key press between refreshes: re-sort all rows by the next column, move down
        a = performance.now();
        state.key('s', 's');
        state.key('down');
        screen.draw(state.frame());
        keys.push(performance.now() - a);
        // a burst of 1,000 live events (path state changes with RTOs), then one frame
        a = performance.now();
        for (let e = 0; e < 1000; e++) {
          const as = next.associations[(e * 7919 + i) % next.associations.length]!;
          state.applyEvent(pathEvent(as.id, as.paths[0]!.address, (e + i) % 2 ? 'PF' : 'ACTIVE', 1000 + e));
        }
        screen.draw(state.frame());
        events.push(performance.now() - a);
      }
      screen.destroy();
      const readMs = median(read);
      const periodS = nextReadMs(1000, { kernelMs: readMs, associations: n }) / 1000;
      const applyCpuMean = applyCpu.reduce((x, y) => x + y, 0) / reps;
      const tickCpuMean = tickCpu / (reps * ticksPerRead);
      const readCpuMean = readCpu.reduce((x, y) => x + y, 0) / reps;
      m('read_ms', readMs);
      m('full_read_every_s', periodS);
      m('tick_frame_build_ms', median(tickBuild));
      m('tick_frame_ms', median(tick));
      m('apply_frame_build_ms', median(applyBuild));
      m('apply_frame_ms', median(apply));
      m('key_sort_frame_ms', median(keys));
      m('events_1000_frame_ms', median(events));
      m('tick_cpu_ms', tickCpuMean);
      m('apply_cpu_ms', applyCpuMean);
      m('read_cpu_ms', readCpuMean);
      m('cpu_at_1hz_pct', ((applyCpuMean + (periodS - 1) * tickCpuMean) / (periodS * 1000)) * 100);
      m('cpu_at_1hz_incl_read_pct', ((readCpuMean + applyCpuMean + (periodS - 1) * tickCpuMean) / (periodS * 1000)) * 100);
      notes.push(
        `top ${n}: full read every ${periodS} s (adaptive rule on this host's ${round(readMs)} ms read); ` +
          `cpu share at 1 Hz = (apply ${round(applyCpuMean)} + ${round(periodS - 1, 1)} × tick ${round(tickCpuMean, 2)} ms) / ${periodS} s`,
      );

      const cli = await measureCli(dir);
      if (cli) {
        m('cli_peak_rss_mb', cli.hwmMb);
        m('cli_first_frame_ms', cli.drawnMs);
      } else notes.push(`top ${n}: CLI peak RSS not measured (script(1) missing, or no screen within 20 s)`);

      const live = await measureLive(dir, opts.smoke ? 2 : 10);
      m('live_peak_rss_mb', live.hwmMb);
      m('live_full_reads', live.reads);
      m('live_cpu_pct', (live.cpuMs / live.wallMs) * 100);
      m('live_cpu_excl_read_pct', ((live.cpuMs - live.readCpuMs) / live.wallMs) * 100);
      notes.push(
        `top ${n} live (node ${NODE_FLAGS.join(' ')}): ${live.reads} full reads (${round(live.readMs / Math.max(1, live.reads))} ms each) and ${live.draws} draws in ${round(live.wallMs / 1000, 1)} s`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { name: 'top', metrics, notes };
}

// `node dist/bench/top.js [--smoke]`; `--live DIR SECONDS`: the live loop (a child of benchTop)
if (process.argv[1]?.endsWith('/bench/top.js')) {
  const i = process.argv.indexOf('--live');
  if (i > 0) {
    liveChild(process.argv[i + 1]!, Number(process.argv[i + 2] ?? 10)).then((r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    });
  } else benchTop({ smoke: process.argv.includes('--smoke') }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
