/**
 * `sctpdiag trace`: live SCTP events (path state, primary, peers, ASCONF,
 * association lifecycle, T3 timeouts, heartbeats, SACK metrics) from bpftrace
 * probes, or from procfs snapshot diffs. One line per event; NDJSON with
 * --json; --log FILE keeps a rotating NDJSON log. Every option is validated
 * here; nothing the user types reaches a bpftrace program or a shell.
 */
import { Command, Option } from 'commander';
import { globals } from '../context.js';
import { DEFAULT_EVENT_TYPES, type EventType } from '../events/types.js';
import { logSettings, parseAssocId, parseEventList, parseNumber, parsePeer, parsePort, type LogFlags } from './options.js';
import { checkSctpDir } from '../procfs/read.js';
import type { TraceFilter } from '../trace/pipeline.js';
import type { TraceSettings } from '../trace/run.js';
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







export function traceSettings(o: TraceFlags): TraceSettings {
  const filter: TraceFilter & { types: ReadonlySet<EventType> } = {
    types: o.events !== undefined ? parseEventList(o.events) : new Set(DEFAULT_EVENT_TYPES),
  };
  if (o.assoc !== undefined) filter.assocId = parseAssocId(o.assoc);
  if (o.port !== undefined) filter.port = parsePort(o.port);
  if (o.peer !== undefined) filter.peer = parsePeer(o.peer);
  return {
    filter,
    durationMs: o.duration !== undefined ? Math.round(parseNumber(o.duration, '--duration', 0.1, 31_536_000, 'a number of seconds', true) * 1000) : null,
    intervalMs: o.interval !== undefined ? parseNumber(o.interval, '--interval', 100, 3_600_000, 'a number of milliseconds') : 1000,
    metricsIntervalS: o.metricsInterval !== undefined ? parseNumber(o.metricsInterval, '--metrics-interval', 1, 3600, 'a number of seconds') : 5,
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
      const { runTrace } = await import('../trace/run.js');
      await runTrace(s, { procRoot: g.procRoot, netns: g.netns, hz: g.hz, json: g.json, style: g.style, links });
    });
}


