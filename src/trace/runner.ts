/**
 * bpftrace as a supervised child: argv (no shell), JSON lines, restarts with backoff, SIGINT then SIGKILL on
 * stop. No orphans: `setpriv --pdeathsig KILL` (util-linux 2.33+) has the kernel kill it if sctpdiag dies,
 * even by SIGKILL; the 'exit' hook kills it too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { findOnPath, hostMountPrefix, type BpftraceVersion } from './probes.js';

export interface RunnerEvents {
  onLine(line: string): void;
  onStart?(pid: number | undefined): void;
  /** the child exited while it was supposed to run; restart in delayMs (null: gave up) */
  onExit?(info: { code: number | null; signal: NodeJS.Signals | null; stderr: string; delayMs: number | null; attached: boolean }): void;
  /**
   * bpftrace exited before attaching: a program without what it refused
   * (one probe file that does not compile or attach here), or null. A new
   * program is started at once and not counted as a failure.
   */
  retarget?(stderr: string): string | null;
  /** a warning bpftrace wrote to stderr (said, not dropped; its errors come with onExit) */
  onMessage?(line: string): void;
}

export interface RunnerOptions {
  bpftrace: string;
  program: string;
  /** positional parameters ($1 …): numbers only */
  params: readonly number[];
  /** restart backoff: first delay, doubling up to 30 s */
  backoffMs?: number;
  /** give up after this many consecutive failures before any probe attached */
  maxFailuresBeforeAttach?: number;
  /** SIGINT → SIGKILL grace on stop */
  killGraceMs?: number;
  /** don't wrap in setpriv (tests) */
  noPdeathsig?: boolean;
  /** keys per bpftrace map (path metrics are keyed per path); default 4096 */
  mapKeysMax?: number;
  /** bpftrace's version: which name its map-size variable has (unknown: both) */
  version?: BpftraceVersion | null;
}

/** perf ring buffer per CPU, in pages: 2 MiB holds ~1.5 s of 20k events/s, bpftrace's 64 pages ~0.2 s */
export const PERF_RB_PAGES = 512;

/**
 * bpftrace's environment: no user-space symbols, a perf buffer that rides out a pause of ours, maps sized for
 * every path; an operator's own values win. 0.20 renamed BPFTRACE_MAP_KEYS_MAX to BPFTRACE_MAX_MAP_KEYS and
 * 0.24 ignores the old name: both are set.
 */
export function bpftraceEnv(base: NodeJS.ProcessEnv, o: Pick<RunnerOptions, 'mapKeysMax' | 'version'>): NodeJS.ProcessEnv {
  const keys = base.BPFTRACE_MAX_MAP_KEYS ?? base.BPFTRACE_MAP_KEYS_MAX ?? String(o.mapKeysMax ?? 4096);
  const env: NodeJS.ProcessEnv = {
    ...base,
    BPFTRACE_NO_USER_SYMBOLS: '1',
    BPFTRACE_PERF_RB_PAGES: base.BPFTRACE_PERF_RB_PAGES ?? String(PERF_RB_PAGES),
  };
  // the other name only draws a "deprecated" warning (0.20+) or is ignored (older)
  const v = o.version;
  const renamed = v ? v[0] > 0 || v[1] >= 20 : null;
  delete env.BPFTRACE_MAP_KEYS_MAX;
  delete env.BPFTRACE_MAX_MAP_KEYS;
  if (renamed !== false) env.BPFTRACE_MAX_MAP_KEYS = keys;
  if (renamed !== true) env.BPFTRACE_MAP_KEYS_MAX = keys;
  return env;
}

/** Map size for `paths` paths: room to double, a power of two, 4096 … 262144. */
export function mapKeysFor(paths: number): number {
  let n = 4096;
  while (n < 2 * paths && n < 262144) n *= 2;
  return n;
}

export function bpftraceArgv(o: Pick<RunnerOptions, 'bpftrace' | 'program' | 'params' | 'noPdeathsig'>): string[] {
  for (const p of o.params)
    if (!Number.isSafeInteger(p) || p < 0) throw new Error(`bpftrace positional parameter must be a non-negative integer, got ${p}`);
  const argv = [...hostMountPrefix(), o.bpftrace, '-f', 'json', '-e', o.program, ...o.params.map(String)];
  const setpriv = o.noPdeathsig ? null : pdeathsigSetpriv();
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', ...argv] : argv;
}

const pdeathsigProbe = new Map<string, boolean>();

/** setpriv when it takes --pdeathsig (util-linux >= 2.33; older ones reject it): tried once per binary. */
export function pdeathsigSetpriv(path = process.env.PATH ?? ''): string | null {
  const setpriv = findOnPath('setpriv', path);
  if (!setpriv) return null;
  let ok = pdeathsigProbe.get(setpriv);
  if (ok === undefined) {
    ok = spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5000, env: { PATH: path } }).status === 0;
    pdeathsigProbe.set(setpriv, ok);
  }
  return ok ? setpriv : null;
}

// ChildProcess.kill() does not throw for a valid signal: a child already gone is a no-op
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export class BpftraceRunner {
  private child: ChildProcess | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private failuresBeforeAttach = 0;
  private attached = false;
  private startedAt = 0;
  private delay: number;
  private rl: Interface | null = null;
  private paused = false;
  restarts = 0;

  constructor(
    private o: RunnerOptions,
    private ev: RunnerEvents,
  ) {
    this.delay = o.backoffMs ?? 1000;
  }

  /** Call when the child reported attached probes (resets the failure count). */
  markAttached(): void {
    this.attached = true;
    this.failuresBeforeAttach = 0;
  }

  start(): void {
    if (this.stopping || this.child) return;
    this.attached = false;
    this.startedAt = Date.now();
    const [cmd, ...args] = bpftraceArgv(this.o);
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: false, env: bpftraceEnv(process.env, this.o) });
    this.child = child;
    live.add(child);
    let stderr = '';
    let partial = '';
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      stderr = (stderr + text).slice(-4000);
      if (!this.ev.onMessage) return;
      const lines = (partial + text).split('\n');
      partial = (lines.pop() ?? '').slice(-4000);
      for (const l of lines) if (/\bWARNING\b/.test(l)) this.ev.onMessage(l.trim().slice(0, 500));
    });
    child.stdin?.on('error', () => {});
    const rl = createInterface({ input: child.stdout! });
    this.rl = rl;
    rl.on('line', (l) => this.ev.onLine(l));
    if (this.paused) rl.pause();
    let spawnError: Error | null = null;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      this.child = null;
      if (this.rl === rl) this.rl = null;
      rl.close();
      if (this.stopping) return;
      const ranMs = Date.now() - this.startedAt;
      const next = !this.attached && !spawnError ? (this.ev.retarget?.(stderr) ?? null) : null;
      if (next !== null) {
        this.o = { ...this.o, program: next };
        this.ev.onExit?.({ code, signal, stderr: stderr.trim(), delayMs: 0, attached: false });
        this.restarts++;
        this.start();
        return;
      }
      if (!this.attached) this.failuresBeforeAttach++;
      if (ranMs > 30_000) this.delay = this.o.backoffMs ?? 1000; // it ran a while: start the backoff over
      const delayMs = this.failuresBeforeAttach >= (this.o.maxFailuresBeforeAttach ?? 3) ? null : this.delay;
      this.ev.onExit?.({
        code,
        signal,
        stderr: (spawnError ? `${spawnError.message}\n` : '') + stderr.trim(),
        delayMs,
        attached: this.attached,
      });
      if (delayMs === null) return;
      this.delay = Math.min(this.delay * 2, 30_000);
      this.restarts++;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, delayMs);
      this.timer.unref?.();
    });
    this.ev.onStart?.(child.pid);
  }

  /**
   * Stop reading while the consumer is behind: bpftrace blocks on its stdout, the perf buffer fills and
   * bpftrace counts the overflow as lost_events, so the loss is counted where it happens and our memory stays
   * bounded. Lines already read are still delivered.
   */
  pause(): void {
    this.paused = true;
    this.rl?.pause();
  }

  resume(): void {
    this.paused = false;
    this.rl?.resume();
  }

  /** SIGINT (bpftrace detaches cleanly), SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    // paused by a slow consumer: let the rest drain (the pipeline drops it) so bpftrace's stdout can end
    this.resume();
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => c.kill('SIGKILL'), this.o.killGraceMs ?? 2000);
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGINT');
    });
  }
}
