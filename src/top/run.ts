/**
 * The render loop of `sctpdiag top`: reads snapshots adaptively, feeds the pipeline's events into the state, draws
 * frames, and restores the terminal on every way out: q, Ctrl-C, signals, an exception anywhere (its stack goes to
 * stderr after the restore), exit.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { EXIT, SctpdiagError } from '../errors.js';
import { EventBus, type SctpEvent } from '../events/types.js';
import type { Snapshot } from '../model/snapshot.js';
import { readCaptureMeta, readSnapshot, type ReadOptions } from '../procfs/read.js';
import { systemCpuMeter, withCycle, type ReadCost } from '../kernel/pacing.js';
import { gatherDrift } from '../doctor/gather.js';
import { readSysctls } from '../procfs/sysctls.js';
import { METRICS_PRINT_S, startEventPipeline, type EventPipeline, type PipelineOptions, type PipelineStatus } from '../trace/pipeline.js';
import { RotatingLog } from '../trace/sinks.js';
import type { LogSettings } from '../trace/run.js';
import { summariseSources } from '../trace/sources.js';
import { TopScreen, utf8Locale, type ScreenIO } from './screen.js';
import { TopState, type SourceStatus } from './state.js';
import type { LinkSpec } from '../links/links.js';

export interface TopRunOptions {
  procRoot: string;
  netns: string | null;
  hz?: number | undefined;
  intervalMs: number;
  noBpf: boolean;
  /** NDJSON event log (rotated like trace's) */
  log: LogSettings | null;
  /** terminal streams (tests); default the process's */
  io?: ScreenIO;
  /** named links (loaded by the command before the screen opens) */
  links?: readonly LinkSpec[];
  /** tune's state dir: the header shows drift from the last applied profile (null: not checked) */
  stateDir?: string | null;
  /** test hooks */
  read?: (o: ReadOptions) => Promise<Snapshot>;
  drift?: () => Promise<{ profile: string; drifted: number } | null>;
  startPipeline?: ((o: PipelineOptions) => EventPipeline) | null;
  /** install process signal/exception handlers (default true) */
  processHooks?: boolean;
  /** called after every draw (tests) */
  onDraw?: (screen: TopScreen, state: TopState) => void;
}

function sourceStatus(p: PipelineStatus): SourceStatus {
  const s: SourceStatus = { source: p.source, probesAttached: p.probesAttached, reason: p.reason };
  // which event types do not come from bpf, and why (the log pane's source.changed names them)
  if (p.types.some((t) => t.source !== 'bpf')) s.types = summariseSources(p.types, true);
  return s;
}

/** Runs until the operator quits; rejects (after restoring the terminal) on a crash. */
export async function runTop(o: TopRunOptions): Promise<void> {
  const replay = o.procRoot !== '/proc' ? o.procRoot : null;
  const read = o.read ?? readSnapshot;
  const readOpts: ReadOptions = { procRoot: o.procRoot, netns: o.netns, hz: o.hz };
  const meta = replay ? await readCaptureMeta(o.procRoot) : null;
  // a capture never changes: a bad one is an error before the screen opens
  const first = replay ? await read(readOpts) : null;

  const state = new TopState({
    host: meta?.hostname ?? hostname(),
    baseIntervalMs: o.intervalMs,
    replay,
    ascii: o.io?.ascii ?? !utf8Locale(),
    links: o.links,
    metricsPrintMs: METRICS_PRINT_S * 1000,
  });
  if (replay) state.setSource({ source: 'replay' });

  // the same comparison as `tune --verify` against the last applied profile (a few small reads)
  const readDrift =
    o.drift ??
    (async () => {
      if (!o.stateDir) return null;
      const live = await readSysctls(o.procRoot).catch(() => null);
      const { drift } = await gatherDrift({ sysctls: live && Object.fromEntries(live), stateDir: o.stateDir, netns: o.netns });
      return drift ? { profile: drift.profile, drifted: drift.drifted.length } : null;
    });

  const bus = new EventBus();
  const log = o.log ? new RotatingLog(o.log) : null;
  // asserted: assigned in closures, so TypeScript would otherwise narrow it to null for good
  let pipeline = null as EventPipeline | null;
  let finished = false;
  let readTimer: NodeJS.Timeout | null = null;
  let statusTimer: NodeJS.Timeout | null = null;
  let clockTimer: NodeJS.Timeout | null = null;
  let drawTimer: NodeJS.Timeout | null = null;
  let lastDrawAt = 0;
  let screen: TopScreen | null = null;

  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });

  const restore = () => screen?.destroy();
  const finish = () => {
    if (finished) return;
    finished = true;
    restore();
    resolveDone();
  };
  const fail = (e: unknown) => {
    if (finished) return;
    finished = true;
    restore();
    const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`sctpdiag top: crashed after restoring the terminal:\n${stack}\n`);
    rejectDone(new SctpdiagError(`top: ${e instanceof Error ? e.message : String(e)}`, EXIT.FAILURE));
  };
  const guard =
    <A extends unknown[]>(fn: (...a: A) => unknown) =>
    (...a: A): void => {
      try {
        const r = fn(...a);
        if (r instanceof Promise) r.catch(fail);
      } catch (e) {
        fail(e);
      }
    };

  const draw = () => {
    if (finished || !screen) return;
    if (drawTimer) {
      clearTimeout(drawTimer);
      drawTimer = null;
    }
    screen.draw(state.frame());
    lastDrawAt = performance.now();
    o.onDraw?.(screen, state);
  };
  /** events can come in bursts: at most one frame per 100 ms for them */
  const drawSoon = () => {
    if (!drawTimer && !finished) drawTimer = setTimeout(guard(draw), 100);
  };

  const unsubscribe = bus.subscribe(
    guard((e: SctpEvent) => {
      log?.write(e);
      state.applyEvent(e);
      drawSoon();
    }),
  );

  // live only: a replay reads once, before the screen opens
  const startPipeline = () => {
    const start = o.startPipeline === undefined ? startEventPipeline : o.startPipeline;
    if (pipeline) return;
    if (!start) return state.setSource({ source: 'procfs', reason: 'no event pipeline: table only' });
    const p = start({
      procRoot: o.procRoot,
      netns: o.netns,
      noBpf: o.noBpf,
      intervalMs: o.intervalMs,
      hz: o.hz,
      bus,
      // top does the (adaptive) reading and pushes each snapshot to the pipeline
      pushed: true,
    });
    pipeline = p;
    p.ready.catch(fail);
    state.setSource(sourceStatus(p.status()));
    statusTimer = setInterval(
      guard(() => {
        const before = JSON.stringify(state.source);
        state.setSource(sourceStatus(p.status()));
        if (JSON.stringify(state.source) !== before) drawSoon();
      }),
      1000,
    );
  };

  const cycle = systemCpuMeter();
  const readOnce = async () => {
    const t0 = performance.now();
    const cycleMs = cycle();
    try {
      const cost: ReadCost = { kernelMs: 0, associations: 0 };
      const s = await read({ ...readOpts, cost });
      if (finished) return;
      state.applySnapshot(s, { atMs: Date.now(), readMs: performance.now() - t0, cost: withCycle(cost, cycleMs) });
      state.setDrift(await readDrift());
      startPipeline();
      pipeline?.push(s);
    } catch (e) {
      if (!(e instanceof SctpdiagError)) throw e;
      // no SCTP, not permitted…: say so on screen and keep trying
      state.setError(e.message, e.hint);
    }
  };

  /** full reads, paced by what they cost the kernel (kernel/pacing.ts) */
  const tick = async () => {
    readTimer = null;
    if (finished) return;
    // paused: no read, and nothing new to draw (the clock redraws); look again soon
    if (!state.paused || !state.snapshot) {
      await readOnce();
      if (finished) return;
      state.tick(Date.now());
      draw();
    }
    readTimer = setTimeout(guard(tick), state.paused ? 250 : state.refreshMs);
  };

  /** Between full reads, a redraw each interval (the header says how old the data is), unless something just drew. */
  const clock = () => {
    if (finished) return;
    state.tick(Date.now());
    if (performance.now() - lastDrawAt >= o.intervalMs * 0.9) draw();
  };

  const onKey = guard((name: string, ch: string | undefined) => {
    const r = state.key(name, ch);
    if (r === 'quit') finish();
    else if (r === 'render') draw();
  });

  const hooks: [string, (e: unknown) => void][] = [
    ['SIGINT', finish],
    ['SIGTERM', finish],
    ['SIGHUP', finish],
    ['uncaughtException', fail],
    ['unhandledRejection', fail],
    ['exit', restore],
  ];
  if (o.processHooks !== false) for (const [event, fn] of hooks) process.on(event, fn);

  try {
    screen = new TopScreen(
      o.io ?? {},
      onKey,
      guard((w: number, h: number) => {
        state.resize(w, h);
        draw();
      }),
    );
    state.resize(screen.width, screen.height);
    if (first) state.applySnapshot(first, { atMs: Date.now(), readMs: 0 });
    draw();
    if (!first) {
      guard(tick)();
      clockTimer = setInterval(guard(clock), o.intervalMs);
    }
    await done;
  } catch (e) {
    fail(e);
    await done;
  } finally {
    finished = true;
    for (const t of [readTimer, drawTimer]) if (t) clearTimeout(t);
    for (const t of [statusTimer, clockTimer]) if (t) clearInterval(t);
    unsubscribe();
    restore();
    if (pipeline) {
      // bpftrace gets a moment to exit; never hang the terminal on it
      await Promise.race([pipeline.stop().catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    log?.close();
    if (o.processHooks !== false) for (const [event, fn] of hooks) process.off(event, fn);
    if (!o.io && process.stdin.isTTY) process.stdin.pause();
  }
}
