/** Running `trace`: the event pipeline into stdout (and a rotating log) until a signal, --duration or a closed stdout. */
import { EventBus, type EventType, type SctpEvent } from '../events/types.js';
import type { Style } from '../render/style.js';
import type { PipelineOptions, TraceFilter } from './pipeline.js';
import type { RotatingLogOptions } from './sinks.js';
import { eventLink, type LinkSpec } from '../links/links.js';

/** --log FILE and its rotation (RotatingLog's options without the test hook) */
export type LogSettings = Omit<RotatingLogOptions, 'writeSync'>;

export interface TraceSettings {
  filter: TraceFilter & { types: ReadonlySet<EventType> };
  durationMs: number | null;
  intervalMs: number;
  metricsIntervalS: number;
  noBpf: boolean;
  log: LogSettings | null;
}

export interface RunTraceContext {
  procRoot: string;
  netns: string | null;
  hz: number | undefined;
  json: boolean;
  style: Style;
  out?: NodeJS.WritableStream;
  /**
   * Stand-ins for what needs a live SCTP kernel (bench/trace-load.ts on a host
   * without one): capability detection and the procfs snapshot.
   */
  pipeline?: Pick<PipelineOptions, 'capabilities' | 'probeFiles' | 'read'>;
  /** named links: events get a `link` */
  links?: readonly LinkSpec[];
}

export async function runTrace(s: TraceSettings, c: RunTraceContext): Promise<void> {
  // loaded only when tracing starts: every other command stays light
  const [{ startEventPipeline }, { EventSink, RotatingLog }] = await Promise.all([
    import('./pipeline.js'),
    import('./sinks.js'),
  ]);
  const out = c.out ?? process.stdout;
  const bus = new EventBus();
  const log = s.log ? new RotatingLog(s.log) : null;
  // One write per burst of events, not one per event. A pipe's reader slower
  // than the events: stop reading bpftrace until stdout drains (bpftrace then
  // reports what the kernel could not buffer as lost events) instead of
  // queueing without bound in memory.
  let draining = false;
  const write = (text: string) => {
    if (out.write(text) || draining) return;
    draining = true;
    p.pause();
    out.once('drain', () => {
      draining = false;
      p.resume();
    });
  };
  const sink = new EventSink({ write, json: c.json, style: c.style, rotating: log });
  const links = c.links ?? [];
  // before the sinks: they print and log the event with its link
  if (links.length > 0)
    bus.subscribe((e: SctpEvent) => {
      const l = eventLink(links, e);
      if (l) e.link = l;
    });
  bus.subscribe((e: SctpEvent) => sink.add(e));
  const p = startEventPipeline({
    procRoot: c.procRoot,
    netns: c.netns,
    noBpf: s.noBpf,
    intervalMs: s.intervalMs,
    metricsIntervalS: s.metricsIntervalS,
    hz: c.hz,
    bus,
    filter: s.filter,
    ...c.pipeline,
  });
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = () => finish();
  for (const sig of signals) process.on(sig, onSignal);
  // a closed stdout (| head) ends the trace instead of crashing
  out.on?.('error', () => finish());
  const timer = s.durationMs !== null ? setTimeout(finish, s.durationMs) : null;
  try {
    await p.ready;
    await done;
  } finally {
    if (timer) clearTimeout(timer);
    await p.stop();
    for (const sig of signals) process.off(sig, onSignal);
    sink.flush();
    log?.close();
  }
}
