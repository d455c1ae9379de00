/**
 * Measuring a drill from the trace pipeline's bpf events: the kernel stamps
 * each T3 expiry, heartbeat and path state change (CLOCK_MONOTONIC ns), so the
 * figures are exact instead of ± a polling gap. Turning events into a
 * timeline is pure (bpfTimeline); watchBpf runs bpftrace and waits, bounded,
 * for its probes to attach before the cut (20–60 s on a slow host).
 */
import { EventBus, type EventType, type SctpEvent } from '../events/types.js';
import type { Timeline } from './measure.js';

/** the figures of a timeline that events time (backupHeld, aborted stay procfs's) */
export const FIGURES = ['strikeMs', 'pfMs', 'inactiveMs', 'movedMs', 'activeAgainMs', 'primaryBackMs'] as const;
export type Figure = (typeof FIGURES)[number];
export type FigureTimes = Pick<Timeline, Figure>;

/** the event types a figure needs from the probes (strike: T3 expiries, and heartbeats for an idle path) */
export function figureNeeds(f: Figure, regime: 'data' | 'idle'): EventType[] {
  if (f === 'strikeMs') return regime === 'data' ? ['path.rtx_timeout'] : ['path.rtx_timeout', 'path.heartbeat'];
  return ['path.state'];
}

export const DRILL_EVENT_TYPES: readonly EventType[] = ['path.state', 'path.rtx_timeout', 'path.heartbeat'];

/** events kept per drill: a 120 s cut of one association makes a few hundred at most */
export const MAX_DRILL_EVENTS = 20_000;

/** how long the drill waits for bpftrace's probes before it cuts with procfs polling only */
export const ATTACH_TIMEOUT_MS = 90_000;

/**
 * The drill's figures from bpf events of one association (in arrival order),
 * ms from the cut at `t0Ns` (CLOCK_MONOTONIC ns). A heartbeat strikes when
 * the one before it on the path went unanswered (the kernel counts an error
 * for each such heartbeat sent); a T3 expiry on the path always does.
 */
export function bpfTimeline(
  events: readonly SctpEvent[],
  o: { t0Ns: bigint; restoreMs: number; path: string; primary: boolean; regime: 'data' | 'idle' },
): FigureTimes {
  let strikeMs: number | null = null;
  let pfMs: number | null = null;
  let inactiveMs: number | null = null;
  let movedMs: number | null = null;
  let back: number | null = null;
  let primaryBack: number | null = null;
  let hbUnanswered = false;
  for (const e of events) {
    if (e.kernelNs === undefined) continue;
    const t = Number(BigInt(e.kernelNs) - o.t0Ns) / 1e6;
    const mine = e.path === o.path;
    const cut = t >= 0 && t < o.restoreMs;
    if (e.type === 'path.heartbeat' && mine) {
      const sent = e.reason === 'HEARTBEAT sent';
      if (sent && hbUnanswered && cut && strikeMs === null) strikeMs = t;
      hbUnanswered = sent;
    } else if (e.type === 'path.rtx_timeout' && mine) {
      if (cut && strikeMs === null) strikeMs = t;
    } else if (e.type === 'path.state') {
      if (mine && cut && (e.to === 'PF' || e.to === 'INACTIVE') && pfMs === null) pfMs = t;
      if (mine && cut && e.to === 'INACTIVE' && inactiveMs === null) inactiveMs = t;
      // traffic left the drilled path: the kernel chose another active path
      if (cut && o.regime === 'data' && movedMs === null && e.activePath && e.activePath !== o.path) movedMs = t;
      if (t >= o.restoreMs - 1 && pfMs !== null) {
        if (mine && e.to === 'ACTIVE' && back === null) back = t;
        if (e.activePath === o.path && primaryBack === null) primaryBack = t;
      }
    }
  }
  const fromRestore = (x: number | null) => (x === null ? null : Math.max(x, o.restoreMs) - o.restoreMs);
  return {
    // a PF or INACTIVE needs strikes first: the earliest one seen bounds it
    strikeMs: strikeMs === null ? pfMs : pfMs === null ? strikeMs : Math.min(strikeMs, pfMs),
    pfMs,
    inactiveMs,
    movedMs,
    activeAgainMs: fromRestore(back),
    primaryBackMs: o.primary ? fromRestore(primaryBack) : null,
  };
}

export interface BpfOutcome {
  /** the figures bpf measured (the others: procfs) */
  figures: Figure[];
  /** why bpf did not measure (all or some figures); null: it measured all */
  reason: string | null;
  probes: string[];
  /** how long bpftrace took to attach; null: it did not */
  attachMs: number | null;
  lostEvents: number;
  events: number;
}

export interface BpfWatch {
  /** resolves true once the probes are attached; false (with reason()) when bpf cannot measure */
  attached: Promise<boolean>;
  reason(): string | null;
  /** wait (≤ ms) until `done(timelineSoFar)`: bpftrace's output trails the kernel by a little */
  settle(done: (events: readonly SctpEvent[]) => boolean, ms: number): Promise<void>;
  finish(regime: 'data' | 'idle'): Promise<{ events: SctpEvent[]; outcome: BpfOutcome }>;
}

/**
 * Start bpftrace on the drilled association's path events. `progress` is
 * told every 15 s while the probes compile and attach; `cancelled` ends the
 * wait (a signal).
 */
export async function watchBpf(o: {
  procRoot: string;
  netns: string | null;
  hz: number;
  assocId: number;
  noBpf: boolean;
  timeoutMs: number;
  progress: (seconds: number) => void;
  cancelled: () => boolean;
}): Promise<BpfWatch> {
  const [{ startEventPipeline, waitForProbes }, { loadProbeFiles }] = await Promise.all([import('../trace/pipeline.js'), import('../trace/probes.js')]);
  const bus = new EventBus();
  const events: SctpEvent[] = [];
  bus.subscribe((e) => {
    if (e.source === 'bpf' && e.kernelNs !== undefined && e.assoc?.id === o.assocId && events.length < MAX_DRILL_EVENTS) events.push(e);
  });
  const p = startEventPipeline({
    procRoot: o.procRoot,
    netns: o.netns,
    noBpf: o.noBpf,
    // the drill polls remaddr itself; the pipeline's own snapshots only enrich events
    intervalMs: 1000,
    metricsIntervalS: 3600,
    hz: o.hz,
    bus,
    filter: { assocId: o.assocId, types: new Set(DRILL_EVENT_TYPES) },
  });
  let why: string | null = null;
  let attachMs: number | null = null;
  let restarts = 0;
  let pid: number | null = null;
  let finished: Promise<{ events: SctpEvent[]; outcome: BpfOutcome }> | undefined;
  const attached = (async () => {
    const w = await waitForProbes(p, { ...o, unavailable: (r) => (o.noBpf ? '--no-bpf' : `bpf unavailable: ${r}`) });
    if (!w.ok) {
      why = w.why;
      return false;
    }
    ({ attachMs, restarts, pid } = w);
    return true;
  })();
  return {
    attached,
    reason: () => why,
    async settle(done, ms) {
      const end = performance.now() + ms;
      while (performance.now() < end && !done(events)) await new Promise((r) => setTimeout(r, 20));
    },
    finish(regime) {
      finished ??= end(regime);
      return finished;
    },
  };
  async function end(regime: 'data' | 'idle'): Promise<{ events: SctpEvent[]; outcome: BpfOutcome }> {
    const ok = await attached.catch(() => false);
    const st = p.status();
    await p.stop();
    const byName = new Map(loadProbeFiles().map((f) => [f.name, f.events]));
    const covered = new Set(st.probes.flatMap((n) => byName.get(n) ?? []));
    let reason = why;
    if (ok && (st.restarts !== restarts || st.bpftracePid !== pid)) reason = 'bpftrace exited during the drill (events missed)';
    else if (ok && st.lostEvents > 0) reason = `bpftrace lost ${st.lostEvents} event(s) during the drill`;
    const figures: Figure[] = [];
    if (reason === null) {
      for (const f of FIGURES) if (figureNeeds(f, regime).every((t) => covered.has(t))) figures.push(f);
      if (figures.length < FIGURES.length) {
        const gone = st.unavailable.map((u) => `${u.name}: ${u.missing.join(' ')}`).join('; ');
        reason = `probes unavailable for ${FIGURES.filter((f) => !figures.includes(f)).join(', ')}${gone ? ` (${gone})` : ''}`;
      }
    }
    return { events, outcome: { figures, reason, probes: st.probes, attachMs, lostEvents: st.lostEvents, events: events.length } };
  }
}

/**
 * procfs's timeline with the figures bpf measured replaced by bpf's; which source measured the event
 * figures. A figure the probes cover but whose events lacked it (bullseye's kprobe path.state has no
 * active path) stays procfs's when procfs saw it.
 */
export function mergeTimeline(
  procfs: Timeline,
  bpf: FigureTimes | null,
  covered: readonly Figure[],
): { timeline: Timeline; source: 'bpf' | 'procfs' | 'mixed'; figures: Figure[]; missed: Figure[] } {
  const timeline = { ...procfs };
  const figures = bpf ? covered.filter((f) => bpf[f] !== null || procfs[f] === null) : [];
  const missed = bpf ? covered.filter((f) => !figures.includes(f)) : [];
  if (bpf) for (const f of figures) timeline[f] = bpf[f];
  const n = figures.length;
  return { timeline, source: n === 0 ? 'procfs' : n === FIGURES.length ? 'bpf' : 'mixed', figures, missed };
}
