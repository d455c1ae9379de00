/**
 * How often a command that keeps running (trace, top, the metrics exporter)
 * may read /proc/net/sctp: each read() of assocs/remaddr makes the kernel walk
 * the association table again from the start, so printing them grows with the
 * square of the association count (seconds at 10k under the lab's emulator).
 */

/** the share of wall time the kernel may spend printing /proc/net/sctp for a command that keeps reading */
const READ_BUDGET = 0.1;
/** however costly the printing, the next read is due within this */
const MAX_READ_INTERVAL_MS = 60_000;
/** below this many associations the printing is cheap everywhere: always read as asked */
export const FEW_ASSOCIATIONS = 1000;

/** What one read cost the kernel: time inside the read syscalls of assocs and remaddr, or the read's system CPU if more; and how many associations they held. */
export interface ReadCost {
  kernelMs: number;
  associations: number;
}

/**
 * When the next read is due: as asked (baseMs) while there are few
 * associations, else late enough that the kernel's printing takes at most
 * READ_BUDGET of the time. Only kernel time counts (the read syscalls, the
 * read's system CPU), never our own start-up, parsing or GC, so a cold first
 * read cannot stretch the interval. Backs off
 * at once; recovers halfway per read (prevMs: the interval in force).
 */
export function nextReadMs(baseMs: number, cost: ReadCost | null, prevMs?: number): number {
  if (!cost || cost.associations < FEW_ASSOCIATIONS) return baseMs;
  const want = Math.min(MAX_READ_INTERVAL_MS, Math.max(baseMs, cost.kernelMs / READ_BUDGET));
  const next = prevMs !== undefined && want < prevMs ? Math.max(want, (prevMs + want) / 2) : want;
  return Math.max(baseMs, Math.round(next / 100) * 100);
}

/**
 * The process's system CPU (ms) since the previous call; null at the first.
 * Called as each read starts, it is what the last cycle cost the kernel all
 * told (the read, the owner scan, drawing, serving scrapes), so pacing by it
 * keeps the command's whole kernel share within READ_BUDGET.
 */
export function systemCpuMeter(): () => number | null {
  let last: number | null = null;
  return () => {
    const now = process.cpuUsage().system;
    const ms = last === null ? null : (now - last) / 1000;
    last = now;
    return ms;
  };
}

/** A read's cost for pacing: its own kernel time, or the whole last cycle's if more. */
export function withCycle(cost: ReadCost, cycleMs: number | null): ReadCost {
  return cycleMs === null ? cost : { ...cost, kernelMs: Math.max(cost.kernelMs, cycleMs) };
}
