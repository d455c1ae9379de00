/**
 * Where each event type comes from (bpf, procfs or nowhere) and why, from the
 * pipeline's state: what `trace`, `top`, `metrics` and `doctor` show. Pure.
 * Reasons are a closed set (a metric label); `detail` is the text for people.
 */
import { EVENT_TYPES, type EventType, type SourceReason } from '../events/types.js';

export interface TypeSource {
  type: EventType;
  source: 'bpf' | 'procfs' | 'none';
  reason: SourceReason;
  /** for people: what exactly is missing, or how long compiling has taken */
  detail: string;
}

export interface SourceState {
  /** every probe file: its name and the event types it produces */
  files: readonly { name: string; events: readonly EventType[] }[];
  /** event types procfs diffs can derive */
  procfsTypes: readonly EventType[];
  /** bpf is not used at all: why */
  off: { reason: SourceReason; detail: string } | null;
  /** probe files in the bpftrace program */
  running: readonly string[];
  /** probe files that cannot run here, with what is missing */
  unavailable: readonly { name: string; missing: readonly string[]; reason: SourceReason }[];
  /** the bpftrace program: planned (doctor), starting, attached, restarting, failed */
  bpf: 'planned' | 'starting' | 'attached' | 'restarting' | 'failed';
  /** seconds since bpftrace was first started (starting) */
  elapsedS?: number;
  /** bpftrace's last error (failed, restarting) */
  error?: string;
  /** only these types (trace --events); default every event type */
  wanted?: ReadonlySet<EventType>;
}

/** the pipeline's own event types: not about the kernel */
const META: readonly EventType[] = ['probe.lost_events', 'source.changed', 'log.error'];

export function eventSources(s: SourceState): TypeSource[] {
  const types = EVENT_TYPES.filter((t) => !META.includes(t) && (!s.wanted || s.wanted.has(t)));
  const procfs = new Set(s.procfsTypes);
  const running = new Set(s.files.filter((f) => s.running.includes(f.name)).flatMap((f) => f.events));
  const fallback = (type: EventType, reason: SourceReason, detail: string): TypeSource =>
    ({ type, source: procfs.has(type) ? 'procfs' : 'none', reason, detail });
  return types.map((type): TypeSource => {
    if (s.off) return fallback(type, s.off.reason, s.off.detail);
    if (running.has(type)) {
      switch (s.bpf) {
        case 'attached':
          return { type, source: 'bpf', reason: 'attached', detail: 'bpf probes attached' };
        case 'planned':
          return { type, source: 'bpf', reason: 'offered', detail: 'the kernel offers its probes' };
        case 'starting':
          return fallback(type, 'starting', `bpftrace compiling and attaching the probes (${Math.round(s.elapsedS ?? 0)} s so far)`);
        case 'restarting':
          return fallback(type, 'restarting', `bpftrace restarting${s.error ? `: ${s.error}` : ''}`);
        case 'failed':
          return fallback(type, 'failed', `bpftrace failed${s.error ? `: ${s.error}` : ''}`);
      }
    }
    const u = s.unavailable.find((x) => s.files.find((f) => f.name === x.name)?.events.includes(type));
    if (u) return fallback(type, u.reason, missingText(u.missing));
    return fallback(type, 'no-probe', 'no probe produces it');
  });
}

/** What a probe file lacks, for people: the last reason, or the probes the kernel does not offer. */
export function missingText(missing: readonly string[]): string {
  const last = missing[missing.length - 1];
  if (!last) return 'unavailable';
  return /^[a-z]+:\S+$/.test(last) ? `${missing.join(' ')} not offered here` : last;
}

/**
 * One line: "bpf path.state, path.rtx_timeout; procfs path.primary, peer.added (no BTF …)".
 * Types that share a source and detail together; `counts`: "bpf 2 types; procfs 2 types (…)"
 * (top's status line, where the names do not fit).
 */
export function summariseSources(list: readonly TypeSource[], counts = false): string {
  return groupSources(list)
    .map((g) => `${g.source} ${counts ? `${g.types.length} type${g.types.length === 1 ? '' : 's'}` : g.types.join(', ')}${g.detail ? ` (${g.detail})` : ''}`)
    .join('; ');
}

/** Types that share a source and detail, in order of first appearance (bpf as such has no detail). */
export function groupSources(list: readonly TypeSource[]): { source: TypeSource['source']; detail: string | null; types: EventType[] }[] {
  const groups = new Map<string, { source: TypeSource['source']; detail: string | null; types: EventType[] }>();
  for (const t of list) {
    const detail = t.source === 'bpf' && (t.reason === 'attached' || t.reason === 'offered') ? null : t.detail;
    const key = `${t.source}\0${detail ?? ''}`;
    const g = groups.get(key) ?? { source: t.source, detail, types: [] };
    g.types.push(t.type);
    groups.set(key, g);
  }
  return [...groups.values()];
}
