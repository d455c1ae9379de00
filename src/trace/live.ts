/** `status --live`: the path-figure probes' path.metrics events over a window (the attach wait is bounded). */
import { EventBus, type SctpEvent } from '../events/types.js';
import { FigureStore, formatMs, type LiveMeta } from '../model/figures.js';

/** how long `status --live` waits for bpftrace's probes before it gives up on bpf */
export const LIVE_ATTACH_TIMEOUT_MS = 120_000;
/** the probes print their maps every second while `status --live` listens */
export const LIVE_PRINT_S = 1;

/** what ran (source, reason, window, attach time, probes, events) and the figures */
export interface LiveOutcome extends LiveMeta {
  figures: FigureStore;
}

export async function collectLive(o: {
  procRoot: string;
  netns: string | null;
  /** --hz, when given */
  hz: number | undefined;
  seconds: number;
  /** told every 15 s while bpftrace attaches, and when it listens */
  progress: (text: string) => void;
  cancelled: () => boolean;
  attachTimeoutMs?: number;
}): Promise<LiveOutcome> {
  const { startEventPipeline, waitForProbes } = await import('./pipeline.js');
  const bus = new EventBus();
  const figures = new FigureStore();
  let events = 0;
  bus.subscribe((e: SctpEvent) => {
    if (e.type !== 'path.metrics' || e.source !== 'bpf') return;
    events++;
    figures.add(e);
  });
  const p = startEventPipeline({
    procRoot: o.procRoot,
    netns: o.netns,
    // the pipeline's one read sizes the probes' maps; status reads procfs itself afterwards
    intervalMs: (o.seconds + 600) * 1000,
    metricsIntervalS: LIVE_PRINT_S,
    hz: o.hz,
    bus,
    filter: { types: new Set(['path.metrics'] as const) },
  });
  const out = (source: LiveOutcome['source'], reason: string | null, attachMs: number | null): LiveOutcome => ({
    source,
    reason,
    seconds: o.seconds,
    attachMs,
    probes: p.status().probes,
    events,
    figures,
  });
  try {
    const w = await waitForProbes(p, {
      timeoutMs: o.attachTimeoutMs ?? LIVE_ATTACH_TIMEOUT_MS,
      progress: (s) => o.progress(`bpftrace compiling and attaching the probes (${s} s so far)`),
      cancelled: o.cancelled,
      unavailable: (r) => `bpf unavailable: ${r}`,
    });
    if (!w.ok) return out('procfs', w.why, null);
    const { attachMs, pid } = w;
    const st = p.status();
    o.progress(`probes attached in ${formatMs(attachMs, 1)} (${st.probes.join(', ')}); listening ${o.seconds} s`);
    // the window, and one more print of the maps for its last second
    const end = performance.now() + (o.seconds + LIVE_PRINT_S) * 1000;
    while (performance.now() < end && !o.cancelled()) await new Promise((r) => setTimeout(r, 100));
    const now = p.status();
    if (now.bpftracePid !== pid) return out('procfs', 'bpftrace exited while listening (figures missed)', attachMs);
    const partial = now.unavailable.length ? `probes unavailable: ${now.unavailable.map((u) => `${u.name}: ${u.missing.join(' ')}`).join('; ')}` : null;
    return out('bpf', o.cancelled() ? 'interrupted: a shorter window' : partial, attachMs);
  } finally {
    await p.stop();
  }
}
