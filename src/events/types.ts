/**
 * The event schema shared by `trace`, `top`, `metrics` and the NDJSON log.
 * Every event is one flat JSON object; schema/event.schema.json documents it
 * (keep both equal). Addresses are RFC 5952 text; times are ISO 8601 UTC.
 */
import type { Owner } from '../model/rows.js';
import type { Severity } from '../model/severity.js';

export const EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPES = [
  /** a path changed state (ACTIVE / PF / INACTIVE / UNCONFIRMED) */
  'path.state',
  /** the association's primary path changed */
  'path.primary',
  /** a peer address was added to / removed from an association (ASCONF, or INIT) */
  'peer.added',
  'peer.removed',
  /** a local address was added to / removed from an association */
  'local.added',
  'local.removed',
  /** an ASCONF or ASCONF-ACK chunk was processed */
  'asconf.received',
  /** association lifecycle (COMM_UP, COMM_LOST/CANT_STR_ASSOC, RESTART, SHUTDOWN_COMP) */
  'assoc.up',
  'assoc.down',
  'assoc.restart',
  /** T3-rtx timer expired on a path */
  'path.rtx_timeout',
  /** heartbeat sent or acknowledged on a path */
  'path.heartbeat',
  /** path figures aggregated in-kernel: per SACK (cwnd, ssthresh, flight, pmtu, rwnd), per RTT sample (srtt, rttvar, rto, errors…) */
  'path.metrics',
  /** an ABORT chunk sent or received, with its cause (bpf); procfs: SctpAborteds grew */
  'chunk.abort',
  /** an ERROR chunk sent or received, with its cause (bpf only) */
  'chunk.error',
  /** an out-of-the-blue packet (no association for it), with its source (bpf); procfs: SctpOutOfBlues grew */
  'packet.ootb',
  /** the kernel or bpftrace dropped events */
  'probe.lost_events',
  /** the event source changed: bpf attached, bpftrace died/restarted, fell back to procfs */
  'source.changed',
  /** the --log file stopped (disk full, I/O error); the events still go to the output */
  'log.error',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What `trace` shows unless --events says otherwise: everything but the chatty heartbeats. */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter((t) => t !== 'path.heartbeat');
export type EventSource = 'bpf' | 'procfs' | 'sctpdiag';

/** Why an event type has the source it has; a bounded set (Prometheus label values). */
export const SOURCE_REASONS = [
  /** bpf: the probes are attached */
  'attached',
  /** doctor: the kernel offers the probes (bpf once trace starts) */
  'offered',
  /** bpftrace is compiling and attaching (procfs meanwhile) */
  'starting',
  /** bpftrace exited after attaching and is restarting (procfs meanwhile) */
  'restarting',
  /** bpftrace failed before attaching, repeatedly: given up */
  'failed',
  'no-bpf',
  'capture',
  'no-bpftrace',
  'no-privileges',
  'no-kprobes',
  /** no BTF for the sctp module (kernels before 5.11) */
  'no-btf',
  /** no BTF and no kernel headers for the kprobe variants */
  'no-headers',
  /** the kernel does not offer a function the probe needs */
  'probe-missing',
  /** bpftrace refused the probe file (compile or attach error) */
  'refused',
  /** no probe produces it and procfs cannot see it */
  'no-probe',
] as const;
export type SourceReason = (typeof SOURCE_REASONS)[number];
/** an event is never `ok` */
export type EventSeverity = Exclude<Severity, 'ok'>;

export interface AssocRef {
  id: number;
  localPort?: number;
  peerPort?: number;
  localAddresses?: string[];
  owners?: readonly Owner[];
}

export interface SctpEvent {
  schemaVersion: typeof EVENT_SCHEMA_VERSION;
  /** ISO 8601 time the event was observed (bpf: kernel time converted to wall clock) */
  time: string;
  /**
   * bpf only: the kernel's CLOCK_MONOTONIC stamp of the event (bpf `nsecs`), exact, as
   * decimal digits (it passes 2^53 after ~104 days of uptime, too big for a JSON number)
   */
  kernelNs?: string;
  type: EventType;
  source: EventSource;
  severity: EventSeverity;
  /** the netns label sctpdiag runs in (null: the initial/current one) */
  netns: string | null;
  assoc?: AssocRef;
  /** peer address of the path the event is about */
  path?: string;
  /** previous and new value (path states, primary addresses, source names) */
  from?: string | null;
  to?: string | null;
  /** path.state: the path the kernel uses after the change (bpf: asoc->peer.active_path; procfs: inferred) */
  activePath?: string | null;
  /** human-readable reason or detail */
  reason?: string;
  /** numeric details with units in their names (rttMs, rtoMs, cwndBytes, count…) */
  metrics?: Record<string, number>;
  /** the named link (links file) of the event's association, matched on its ports and path */
  link?: string;
  /** chunk.*: received (in) or sent (out) */
  direction?: 'in' | 'out';
  /** chunk.*: the first error cause's label (kernel/causes.ts: user_abort, protocol_violation …; none, other) */
  cause?: string;
  /** source.changed: where each event type comes from now, and why (src/trace/sources.ts) */
  sources?: { type: EventType; source: 'bpf' | 'procfs' | 'none'; reason: SourceReason }[];
}

/** A tiny synchronous bus: the pipeline publishes, sinks (stdout, log, top, metrics) subscribe. */
export class EventBus {
  private listeners = new Set<(e: SctpEvent) => void>();
  subscribe(l: (e: SctpEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  publish(e: SctpEvent): void {
    for (const l of this.listeners) l(e);
  }
}
