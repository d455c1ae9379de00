/**
 * Measuring a drill from /proc/net/sctp/remaddr, polled every ≤ 100 ms (what
 * every kernel has; bpf events would time the strikes exactly). The sampling
 * is I/O; turning samples into event times is pure (timeline()).
 */
import { jiffiesToMs } from '../kernel/hz.js';
import { pathStateName, type PathState } from '../kernel/enums.js';
import { assocsParser, remaddrParser } from '../procfs/parse.js';
import { readSctpFile } from '../procfs/sctpfile.js';

export interface Sample {
  /** ms since the cut, of this read */
  t: number;
  /** ms since the cut, of the read before (the change happened in (prevT, t]) */
  prevT: number;
  /** the drilled path; null once the association is gone */
  state: PathState | null;
  rtoMs: number;
  /** some other path of the association is ACTIVE */
  otherActive: boolean;
}

export interface Timeline {
  /** ms from the cut */
  strikeMs: number | null;
  pfMs: number | null;
  inactiveMs: number | null;
  /** ms from the cut: traffic left the path (inferred: at PF, or INACTIVE without PF; procfs prints no active path) */
  movedMs: number | null;
  /** ms from the restore */
  activeAgainMs: number | null;
  /** ms from the restore: the primary carries the traffic again (it is ACTIVE; null when the drilled path is not the primary) */
  primaryBackMs: number | null;
  /** another path stayed ACTIVE through the cut */
  backupHeld: boolean;
  /** the association disappeared (ABORT) */
  aborted: boolean;
}

export function timeline(samples: readonly Sample[], o: { rto0Ms: number; rtoMaxMs: number; restoreMs: number; primary: boolean }): Timeline {
  // a change seen at read t happened between the read before and t: take the middle
  const at = (s: Sample | undefined) => (s === undefined ? null : (Math.max(s.prevT, 0) + s.t) / 2);
  const first = (f: (s: Sample) => boolean, from = 0, to = Infinity) => at(samples.find((s) => s.t >= from && s.t < to && f(s)));
  const during = samples.filter((s) => s.t < o.restoreMs);
  // a counted strike doubles the RTO (capped at rto_max); RTT samples move it by less
  const doubled = Math.min(2 * o.rto0Ms, o.rtoMaxMs) - 4;
  const strikeMs = first((s) => s.state !== null && ((s.rtoMs >= doubled && s.rtoMs > o.rto0Ms) || s.state !== 'ACTIVE'), 0, o.restoreMs);
  const pfMs = first((s) => s.state === 'PF' || s.state === 'INACTIVE', 0, o.restoreMs);
  const inactiveMs = first((s) => s.state === 'INACTIVE', 0, o.restoreMs);
  const back = first((s) => s.state === 'ACTIVE', o.restoreMs);
  const activeAgainMs = pfMs === null || back === null ? null : Math.max(back, o.restoreMs) - o.restoreMs;
  return {
    strikeMs,
    pfMs,
    inactiveMs,
    movedMs: pfMs,
    activeAgainMs,
    primaryBackMs: o.primary ? activeAgainMs : null,
    backupHeld: during.length > 0 && during.every((s) => s.state === null || s.otherActive),
    aborted: samples.some((s) => s.state === null),
  };
}

export interface PollStats {
  samples: number;
  intervalMs: number;
  /** the longest gap between two reads: the resolution of every measured time */
  maxGapMs: number;
}

/** The drilled path and its siblings in one read of remaddr. */
export async function readPath(procRoot: string, assocId: number, peer: string, hz: number): Promise<Omit<Sample, 't' | 'prevT'>> {
  const path = `${procRoot}/net/sctp/remaddr`;
  const rows = (await readSctpFile(path, remaddrParser(path))).result.rows.filter((r) => r.assocId === assocId);
  const me = rows.find((r) => r.address.address === peer);
  if (!me) return { state: null, rtoMs: 0, otherActive: false };
  return {
    state: pathStateName(me.state),
    rtoMs: jiffiesToMs(me.rto, hz),
    otherActive: rows.some((r) => r !== me && pathStateName(r.state) === 'ACTIVE'),
  };
}

/** RTXC (retransmitted chunks) of one association, null if it is gone. */
export async function readRtxc(procRoot: string, assocId: number): Promise<number | null> {
  const path = `${procRoot}/net/sctp/assocs`;
  const a = (await readSctpFile(path, assocsParser(path))).result.rows.find((r) => r.assocId === assocId);
  return a ? a.rtxc : null;
}

/**
 * Poll until `until(samples)` says stop or `deadline` (performance.now() ms) passes.
 * Keeps a sample when the path changed (and the first one), so memory stays small.
 */
export async function poll(o: {
  read: () => Promise<Omit<Sample, 't' | 'prevT'>>;
  t0: number;
  intervalMs: number;
  deadline: number;
  /** stop after this read */
  until: (current: Sample) => boolean;
  /** the previous read's performance.now(), carried across calls */
  prev?: { at: number };
  samples: Sample[];
  stats: PollStats;
}): Promise<void> {
  let last = o.samples.at(-1);
  const prev = o.prev ?? { at: o.t0 };
  while (performance.now() < o.deadline) {
    const at = performance.now();
    const s = { ...(await o.read()), t: at - o.t0, prevT: prev.at - o.t0 };
    o.stats.samples++;
    o.stats.maxGapMs = Math.max(o.stats.maxGapMs, at - prev.at);
    prev.at = at;
    if (!last || last.state !== s.state || last.rtoMs !== s.rtoMs || last.otherActive !== s.otherActive) {
      o.samples.push(s);
      last = s;
    }
    if (o.until(s) || s.state === null) return;
    const wait = Math.min(o.intervalMs - (performance.now() - at), o.deadline - performance.now());
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
