/**
 * `sctpdiag trace`: live SCTP events (path state, primary, peers, ASCONF,
 * association lifecycle, T3 timeouts, heartbeats, SACK metrics) from bpftrace
 * probes, or from procfs snapshot diffs. One line per event; NDJSON with
 * --json; --log FILE keeps a rotating NDJSON log. Every option is validated
 * here; nothing the user types reaches a bpftrace program or a shell.
 */
import { Command, Option } from 'commander';
import { dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { globals } from '../context.js';
import { usageError } from '../errors.js';
import { preferSmallHeap } from '../heap.js';
import { DEFAULT_EVENT_TYPES, EVENT_TYPES, EventBus, type EventType, type SctpEvent } from '../events/types.js';
import { parseAssocId, parsePeer, parsePort } from '../model/filter.js';
import { checkSctpDir } from '../procfs/read.js';
import type { PipelineOptions, TraceFilter } from '../trace/pipeline.js';
import { eventLink, type LinkSpec } from '../links/links.js';
import { loadLinks } from '../links/load.js';

export interface TraceFlags extends LogFlags {
  assoc?: string;
  peer?: string;
  port?: string;
  events?: string;
  duration?: string;
  bpf?: boolean;
  interval?: string;
  metricsInterval?: string;
}

export interface TraceSettings {
  filter: TraceFilter & { types: ReadonlySet<EventType> };
  durationMs: number | null;
  intervalMs: number;
  metricsIntervalS: number;
  noBpf: boolean;
  log: { path: string; maxBytes: number; keep: number } | null;
}

/** `all`, `default`, or a comma list of event names; a name ending in `.*` takes the family (path.*). */
export function parseEventList(text: string, option = '--events'): Set<EventType> {
  if (text.length > 1000) throw usageError(`${option}: list too long`);
  const out = new Set<EventType>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'all') EVENT_TYPES.forEach((t) => out.add(t));
    else if (item === 'default') DEFAULT_EVENT_TYPES.forEach((t) => out.add(t));
    else if (/^[a-z]+\.\*$/.test(item) && EVENT_TYPES.some((t) => t.startsWith(item.slice(0, -1))))
      EVENT_TYPES.filter((t) => t.startsWith(item.slice(0, -1))).forEach((t) => out.add(t));
    else if ((EVENT_TYPES as readonly string[]).includes(item)) out.add(item as EventType);
    else
      throw usageError(
        `${option}: unknown event ${JSON.stringify(item.slice(0, 60))}`,
        `one or more of: all, default, ${EVENT_TYPES.join(', ')} (or a family such as path.*)`,
      );
  }
  if (out.size === 0) throw usageError(`${option}: no event named`);
  return out;
}

/** A decimal number within [min, max] (integers only unless `decimals`). */
export function parseNumber(text: string, option: string, min: number, max: number, unit: string, decimals = false): number {
  const re = decimals ? /^\d{1,9}(\.\d{1,3})?$/ : /^\d{1,15}$/;
  const n = Number(text);
  if (!re.test(text) || !Number.isFinite(n) || n < min || n > max)
    throw usageError(`${option}: ${JSON.stringify(text.slice(0, 60))} is not a number of ${unit} in ${min}..${max}`);
  return n;
}

export function parseLogPath(text: string, option = '--log'): string {
  if (text === '' || text.length > 4096 || /[\0\n\r]/.test(text)) throw usageError(`${option}: invalid file name`);
  const p = resolve(text);
  const dir = statSync(dirname(p), { throwIfNoEntry: false });
  if (!dir?.isDirectory()) throw usageError(`${option}: directory ${dirname(p)} does not exist`);
  const st = statSync(p, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw usageError(`${option}: ${p} exists and is not a regular file`);
  return p;
}

export interface LogFlags {
  log?: string;
  logMaxBytes?: string;
  logKeep?: string;
}

export interface LogSettings {
  path: string;
  maxBytes: number;
  keep: number;
}

/** --log FILE [--log-max-bytes N] [--log-keep N], shared by trace and top. */
export function logSettings(o: LogFlags): LogSettings | null {
  const path = o.log !== undefined ? parseLogPath(o.log) : null;
  if (path === null) {
    if (o.logMaxBytes !== undefined || o.logKeep !== undefined) throw usageError('--log-max-bytes and --log-keep need --log FILE');
    return null;
  }
  return {
    path,
    maxBytes: o.logMaxBytes !== undefined ? parseNumber(o.logMaxBytes, '--log-max-bytes', 4096, 2 ** 40, 'bytes') : 10 * 1024 * 1024,
    keep: o.logKeep !== undefined ? parseNumber(o.logKeep, '--log-keep', 1, 100, 'files') : 5,
  };
}

export function traceSettings(o: TraceFlags): TraceSettings {
  const filter: TraceFilter & { types: ReadonlySet<EventType> } = {
    types: o.events !== undefined ? parseEventList(o.events) : new Set(DEFAULT_EVENT_TYPES),
  };
  if (o.assoc !== undefined) filter.assocId = parseAssocId(o.assoc);
  if (o.port !== undefined) filter.port = parsePort(o.port);
  if (o.peer !== undefined) filter.peer = parsePeer(o.peer);
  return {
    filter,
    durationMs: o.duration !== undefined ? Math.round(parseNumber(o.duration, '--duration', 0.1, 31_536_000, 'seconds', true) * 1000) : null,
    intervalMs: o.interval !== undefined ? parseNumber(o.interval, '--interval', 100, 3_600_000, 'milliseconds') : 1000,
    metricsIntervalS: o.metricsInterval !== undefined ? parseNumber(o.metricsInterval, '--metrics-interval', 1, 3600, 'seconds') : 5,
    noBpf: o.bpf === false,
    log: logSettings(o),
  };
}

export function traceCommand(): Command {
  return new Command('trace')
    .description('live SCTP events: path state, primary changes, peers, ASCONF, association up/down, T3 timeouts (bpftrace; procfs fallback)')
    .option('--assoc <id>', 'only events of this association id')
    .option('--peer <addr>', 'only events about this peer address (or its associations)')
    .option('--port <n>', 'only associations with this local or peer port')
    .option('--events <list>', `comma list of event types, "all", "default" or a family like "path.*" (default: all but path.heartbeat)`)
    .option('--duration <s>', 'stop after this many seconds')
    .option('--log <file>', 'also append every event to this NDJSON file (rotated by size)')
    .option('--log-max-bytes <n>', 'rotate the log when it reaches this size (default 10485760)')
    .option('--log-keep <n>', 'rotated log files kept: FILE.1 … FILE.N (default 5)')
    .option('--no-bpf', 'do not use bpftrace: derive events from procfs snapshots')
    .option('--interval <ms>', 'procfs polling interval in milliseconds (default 1000)')
    .addOption(new Option('--metrics-interval <s>', 'seconds between aggregated path.metrics events (default 5)'))
    .option('--links <file>', 'name events by a links file (default /etc/sctpdiag/links.conf when it exists)')
    .action(async (o: TraceFlags & { links?: string }, cmd: Command) => {
      const g = globals(cmd);
      const s = traceSettings(o);
      const links = await loadLinks(o.links ?? null);
      await checkSctpDir(g.procRoot);
      await runTrace(s, { procRoot: g.procRoot, netns: g.netns, hz: g.hz, json: g.json, style: g.style, links });
    });
}

export interface RunTraceContext {
  procRoot: string;
  netns: string | null;
  hz: number | undefined;
  json: boolean;
  style: ReturnType<typeof globals>['style'];
  out?: NodeJS.WritableStream;
  /**
   * Stand-ins for what needs a live SCTP kernel (bench/trace-load.ts on a host
   * without one): capability detection and the procfs snapshot.
   */
  pipeline?: Pick<PipelineOptions, 'capabilities' | 'probeFiles' | 'getSnapshot'>;
  /** named links: events get a `link` */
  links?: readonly LinkSpec[];
}

export async function runTrace(s: TraceSettings, c: RunTraceContext): Promise<void> {
  preferSmallHeap();
  // loaded only when tracing starts: every other command stays light
  const [{ startEventPipeline }, { EventSink, RotatingLog }] = await Promise.all([
    import('../trace/pipeline.js'),
    import('../trace/sinks.js'),
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
