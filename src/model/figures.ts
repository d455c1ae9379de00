/**
 * Per-path transport figures from bpf (path.metrics events of path-rtt.bt and
 * path-metrics.bt): the latest value of each with the kernel time it was
 * taken, so every figure shown carries its age. I/O-free: times are parameters.
 */
import type { SctpEvent } from '../events/types.js';
import type { Association, Path } from './snapshot.js';

/** The figures kept per path, in display order (event metric names). */
export const PATH_FIGURES = [
  'srttMs',
  'rttvarMs',
  'rtoMs',
  'cwndBytes',
  'ssthreshBytes',
  'flightBytes',
  'pmtuBytes',
  'errorCount',
  'maxPathRetrans',
  'peerRwndBytes',
] as const;
export type FigureName = (typeof PATH_FIGURES)[number];

/** One figure and how long ago the kernel produced it (ms, at the report's time). */
export interface LiveFigure {
  value: number;
  ageMs: number;
}

export type LiveFigures = Partial<Record<FigureName, LiveFigure>>;

/** paths kept (the probes' map-key bound is of the same order); the oldest updated go first */
export const MAX_FIGURE_PATHS = 100_000;

const key = (assocId: number, path: string) => `${assocId}|${path}`;

/** The latest figures per path (association id and peer address), each with its stamp (ms since the epoch). */
export class FigureStore {
  private paths = new Map<string, Map<FigureName, { value: number; atMs: number }>>();

  constructor(private max = MAX_FIGURE_PATHS) {}

  get size(): number {
    return this.paths.size;
  }

  /** A bpf path.metrics event; anything else is ignored. */
  add(e: SctpEvent): void {
    if (e.type !== 'path.metrics' || e.source !== 'bpf' || !e.assoc || !e.path || !e.metrics) return;
    const atMs = Date.parse(e.time);
    if (!Number.isFinite(atMs)) return;
    const k = key(e.assoc.id, e.path);
    let p = this.paths.get(k);
    if (p) this.paths.delete(k);
    else p = new Map();
    this.paths.set(k, p);
    if (this.paths.size > this.max) this.paths.delete(this.paths.keys().next().value!);
    for (const f of PATH_FIGURES) {
      const v = e.metrics[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const old = p.get(f);
      // prints of two probe files may arrive out of stamp order: the newer sample wins
      if (!old || old.atMs <= atMs) p.set(f, { value: v, atMs });
    }
  }

  /** A path's figures with their ages at `nowMs`; null when bpf reported none. */
  figures(assocId: number, path: string, nowMs: number): LiveFigures | null {
    const p = this.paths.get(key(assocId, path));
    if (!p || p.size === 0) return null;
    const out: LiveFigures = {};
    for (const f of PATH_FIGURES) {
      const x = p.get(f);
      if (x) out[f] = { value: x.value, ageMs: Math.max(0, Math.round(nowMs - x.atMs)) };
    }
    return out;
  }

  /** Forget paths no longer in any association (after a full read). */
  retain(keep: (assocId: number, path: string) => boolean): void {
    for (const k of this.paths.keys()) {
      const i = k.indexOf('|');
      if (!keep(Number(k.slice(0, i)), k.slice(i + 1))) this.paths.delete(k);
    }
  }
}

/**
 * When a path's RTT figures are stale: a path gets an RTT sample at least
 * every heartbeat interval (plus its RTO, for the HEARTBEAT-ACK), and the
 * probes print every `printMs`; older than that and three prints means the
 * kernel stopped measuring it (heartbeats off, or unanswered).
 */
export function staleAfterMs(heartbeatIntervalMs: number, rtoMs: number, printMs: number): number {
  return heartbeatIntervalMs + rtoMs + 3 * printMs;
}

/** The age of a path's RTT sample (the SRTT's); null without one. */
export function rttAgeMs(f: LiveFigures | null | undefined): number | null {
  return f?.srttMs?.ageMs ?? null;
}

/** Every duration shown to people: "200 ms" below a second, then seconds ("1.42 s", "12.3 s", or `decimals` digits); '—' for none */
export function formatMs(ms: number | null, decimals?: number): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(decimals ?? (ms < 10_000 ? 2 : 1))} s`;
}

/** an age, which grows past a minute: "340 ms", "12.3 s", "4 min" */
export const formatAge = (ms: number): string => (ms < 60_000 ? formatMs(ms, 1) : `${Math.round(ms / 60_000)} min`);

/** bytes as a short figure: 4380, 106k, 1.2M */
export function formatBytes(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 10_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** What `status --live` ran: where its figures come from, and why not bpf. */
export interface LiveMeta {
  /** bpf: the probes ran for the whole window; procfs: they did not (reason) */
  source: 'bpf' | 'procfs';
  reason: string | null;
  seconds: number;
  /** how long bpftrace took to attach (ms); null: it did not */
  attachMs: number | null;
  probes: string[];
  /** path.metrics events received */
  events: number;
}

/** A path as `status --live` prints it: procfs's row with bpf's figures, when there are any. */
export type LivePath = Path & { live?: LiveFigures };

/** Associations with each path's bpf figures (ages at `nowMs`) merged into its row. */
export function withFigures(assocs: readonly Association[], store: FigureStore, nowMs: number): Association[] {
  return assocs.map((a) => ({
    ...a,
    paths: a.paths.map((p): LivePath => {
      const live = store.figures(a.id, p.address, nowMs);
      return live ? { ...p, live } : p;
    }),
  }));
}
