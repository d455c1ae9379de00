/**
 * Where the exporter's snapshots come from, read at most once per
 * min-interval however many scrapes arrive (concurrent scrapes share one
 * read), and no more often than keeps the kernel's printing of the files
 * within 10% of a core (kernel/pacing.ts; at 10k associations a read
 * costs the kernel seconds, and Prometheus may scrape every few seconds).
 * With --all-netns every named namespace is read too (procfs/every-netns.ts),
 * once per interval.
 */
import type { Snapshot } from '../model/snapshot.js';
import { readSnapshot } from '../procfs/read.js';
import { nextReadMs, systemCpuMeter, withCycle, type ReadCost } from '../kernel/pacing.js';
import { readEveryNetns } from '../procfs/every-netns.js';

/** fills `cost` with what the read cost the kernel, when it read procfs itself */
export type SnapshotReader = (cost?: ReadCost) => Promise<Snapshot[]>;

export interface Reading {
  snapshots: Snapshot[];
  /** when the read finished (ms since epoch) */
  at: number;
  durationMs: number;
  /** how long it is served before a scrape reads again: min-interval, longer after a slow read */
  servedForMs: number;
  error: string | null;
}

export class SnapshotCache {
  private last: Reading | null = null;
  private inflight: Promise<Reading> | null = null;
  /** how many times the reader ran (tests check the cache with it) */
  reads = 0;
  errors = 0;
  private listeners = new Set<(prev: Reading | null, cur: Reading) => void>();
  /** what the exporter's last cycle cost the kernel (reads, scrapes, events) */
  private readonly cycle = systemCpuMeter();

  constructor(
    private readonly reader: SnapshotReader,
    readonly minIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called after every fresh read with the previous and new reading. */
  onRead(l: (prev: Reading | null, cur: Reading) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  peek(): Reading | null {
    return this.last;
  }

  async get(): Promise<Reading> {
    if (this.last && this.now() - this.last.at < this.last.servedForMs) return this.last;
    if (this.inflight) return this.inflight;
    this.inflight = (async () => {
      const start = this.now();
      const cycleMs = this.cycle();
      this.reads++;
      let snapshots: Snapshot[];
      let error: string | null = null;
      const cost: ReadCost = { kernelMs: 0, associations: 0 };
      try {
        snapshots = await this.reader(cost);
      } catch (e) {
        this.errors++;
        // keep serving the last good data, but report the error (healthz, sctp_up)
        snapshots = this.last?.snapshots ?? [];
        error = (e as Error).message;
      }
      const at = this.now();
      const durationMs = at - start;
      const servedForMs = nextReadMs(this.minIntervalMs, withCycle(cost, cycleMs), this.last?.servedForMs);
      const prev = this.last;
      const cur: Reading = { snapshots, at, durationMs, servedForMs, error };
      this.last = cur;
      for (const l of this.listeners) l(prev, cur);
      return cur;
    })().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }
}

export interface ReaderOptions {
  procRoot: string;
  netns: string | null;
  hz?: number | undefined;
  allNetns?: boolean;
}

/** The real reader: this namespace, plus every named one with --all-netns. */
export function procfsReader(o: ReaderOptions): SnapshotReader {
  return async (cost) => {
    // owners need a walk of every /proc/PID/fd: far too costly per scrape
    const here = await readSnapshot({ procRoot: o.procRoot, netns: o.netns, hz: o.hz, owners: false, cost });
    return o.allNetns ? [here, ...(await readEveryNetns({ hz: o.hz, owners: false }))] : [here];
  };
}
