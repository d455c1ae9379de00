/**
 * Event counts for the exporter: a subscriber on the EventBus that counts
 * events by type and source, plus lost probe events. The events come from the
 * live pipeline (src/trace): bpf when bpftrace and kprobes are usable, else
 * its procfs fallback, which diffs the exporter's own cached snapshots
 * (transitions shorter than the min-interval are not seen).
 */
import { EventBus, type EventSource, type EventType, type SctpEvent } from '../events/types.js';
import type { Snapshot } from '../model/snapshot.js';
import { startEventPipeline } from '../trace/pipeline.js';
import type { TypeSource } from '../trace/sources.js';
import { FigureStore } from '../model/figures.js';

export class EventCounts {
  /** `${type}\0${source}` → count */
  readonly byTypeSource = new Map<string, number>();
  lostEvents = 0;
  /** per event type: bpf, procfs or none, and why (from the pipeline) */
  types: readonly TypeSource[] = [];
  /** `${link}\0${type}` → count, for events of associations in a named link */
  readonly byLinkType = new Map<string, number>();
  /** bpf chunk.abort / chunk.error by `${direction}\0${cause}` (the cause set is bounded: kernel/causes.ts) */
  readonly aborts = new Map<string, number>();
  readonly errors = new Map<string, number>();
  /** bpf packet.ootb events (procfs hosts: the SNMP counter SctpOutOfBlues) */
  ootb = 0;
  /** bpf's latest per-path figures (path.metrics), for the per-path gauges of --path-rto (bounded) */
  readonly figures = new FigureStore();
  /** names the link of an event's association (set by the exporter when there are links) */
  linkOf: ((e: SctpEvent) => string | null) | null = null;

  attach(bus: EventBus): () => void {
    return bus.subscribe((e) => this.count(e));
  }

  count(e: SctpEvent): void {
    const k = `${e.type}\0${e.source}`;
    this.byTypeSource.set(k, (this.byTypeSource.get(k) ?? 0) + 1);
    if (e.type === 'probe.lost_events') this.lostEvents += e.metrics?.['count'] ?? 1;
    if (e.source === 'bpf') {
      if ((e.type === 'chunk.abort' || e.type === 'chunk.error') && e.direction) {
        const m = e.type === 'chunk.abort' ? this.aborts : this.errors;
        const ck = `${e.direction}\0${e.cause ?? 'none'}`;
        m.set(ck, (m.get(ck) ?? 0) + 1);
      } else if (e.type === 'packet.ootb') this.ootb++;
      else if (e.type === 'path.metrics') this.figures.add(e);
    }
    const link = e.assoc && this.linkOf ? this.linkOf(e) : null;
    if (link) {
      const lk = `${link}\0${e.type}`;
      this.byLinkType.set(lk, (this.byLinkType.get(lk) ?? 0) + 1);
    }
  }

  entries(): { type: EventType; source: EventSource; count: number }[] {
    return [...this.byTypeSource].map(([k, count]) => {
      const [type, source] = k.split('\0') as [EventType, EventSource];
      return { type, source, count };
    });
  }
}

export interface PipelineHandle {
  /** per event type sources (src/trace/sources.ts) */
  types(): TypeSource[];
  lostEvents(): number;
  /** a snapshot the exporter read */
  push(s: Snapshot): void;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  bus: EventBus;
  procRoot: string;
  netns: string | null;
  hz?: number | undefined;
  intervalMs: number;
  /** procfs only, no bpftrace */
  noBpf: boolean;
}

/** Start src/trace's live pipeline (bpf when it can, procfs diffs otherwise). */
export function startPipeline(o: PipelineOptions): PipelineHandle {
  const p = startEventPipeline({
    bus: o.bus,
    procRoot: o.procRoot,
    netns: o.netns,
    intervalMs: o.intervalMs,
    noBpf: o.noBpf,
    pushed: true,
    ...(o.hz !== undefined ? { hz: o.hz } : {}),
  });
  return {
    types: () => p.status().types,
    lostEvents: () => p.status().lostEvents,
    push: (s) => p.push(s),
    stop: () => p.stop(),
  };
}
