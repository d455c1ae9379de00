/**
 * Failover-time model for kernel SCTP (pure functions, no I/O).
 *
 * Kernel facts (Linux 6.1, net/sctp; 6.1.11+ carries 8f35ae17ef56 "sctp: do not
 * check hb_timer.expires when resetting hb_timer", so the PF-entry reset below works):
 * - sctp_do_8_2_transport_strike(): a T3-rtx timeout always counts (error_count++);
 *   a heartbeat counts only if the previous one is still unanswered (hb_sent), so
 *   the FIRST heartbeat after a cut never counts. error_count > pf_retrans (and
 *   < path_max_retrans, pf_enable) → PF, and at that moment the heartbeat timer is
 *   reset with the not-yet-doubled RTO; error_count > path_max_retrans → INACTIVE;
 *   then RTO ← min(2·RTO, rto_max) (not after an uncounted heartbeat).
 * - heartbeat timer (sctp_transport_reset_hb_timer + sctp_transport_timeout()):
 *   max(RTO/2 + hb_interval, HZ/5) + U[0, RTO), hb_interval not added while the
 *   path is PF; HZ/5 = 200 ms whatever HZ. Written below as
 *   hbDelay(RTO) = max(RTO/2 + hb, 200) + RTO·(j − ½), j ∈ [0.5, 1.5), expected j = 1.
 * - sctp_generate_heartbeat_event() sends only if no DATA went on the path for the
 *   (same) timeout; data rides the active path, never a PF one.
 * - Before 6.1.11/6.2 (e.g. 5.10) the PF-entry reset cannot pull in the timer the
 *   ACTIVE path left pending (src/kernel/hb-timer.ts): the first heartbeat after
 *   PF then leaves at that timer, U(0, P] after PF, P = max(RTO/2 + hb_interval, HZ/5),
 *   if it is due after the reset's base max(RTO/2, HZ/5) (else as above).
 *
 * Data path (DATA flowing on the path when it is cut): RTO₀ = clamp(SRTT + 4·RTTVAR,
 * rto_min, rto_max), RTOᵢ = min(RTO₀·2ⁱ, rto_max).
 *   PF after pf_retrans+1 T3 timeouts:  t_PF = Σ_{i=0..pf_retrans} RTOᵢ
 *   With PF, traffic leaves the path at t_PF, no T3 timeout lands on it any more,
 *   and the remaining m = path_max_retrans − pf_retrans strikes come from heartbeats:
 *   a first, uncounted one hbDelay(RTO_pf) after t_PF (reset at PF entry, hb not
 *   added), then m counted ones each hbDelay(RTO_{pf+k}) after the previous:
 *   INACTIVE = t_PF + hbDelay(RTO_pf) + Σ_{k=1..m} hbDelay(RTO_{pf+k})
 *   Without PF (pf_enable=0 or pf_retrans ≥ path_max_retrans) new DATA keeps going
 *   to the path, so T3 timeouts do it: INACTIVE = Σ_{i=0..path_max_retrans} RTOᵢ.
 *   (Times assume DATA is always queued: with sparse sending and pf_retrans ≥ 1,
 *   each pre-PF timeout also waits for the next message.)
 *
 * Idle path (heartbeats only): heartbeats every hbDelay(RTO) (hb_interval added
 * until PF); the cut happens at a uniformly random point of a heartbeat period,
 * so the first heartbeat after the cut leaves after U[0, 1)·period and does not
 * count; each later one is a strike, and RTO backs off as for data.
 *
 * Association abort (every path dead, data outstanding): each timeout on any
 * path adds one to the association error count; after association_max_retrans+1
 * the association is aborted. Retransmissions rotate over the paths that are
 * not INACTIVE (ACTIVE preferred), each path with its own RTO backoff.
 *
 * The kernel facts these formulas rest on live in src/kernel/sysctl-catalog.ts
 * (keys, defaults) and src/kernel/pf.ts (PF reachability); the arithmetic is here.
 * Every sum is in closed form: path_max_retrans may legally be INT_MAX.
 */

import { pfResetsHbTimer } from '../kernel/hb-timer.js';
import { pfReachable } from '../kernel/pf.js';
import { lookupKey } from '../kernel/sysctl-catalog.js';
import { MAX_PATHS } from './limits.js';
import { formatMs } from './figures.js';

/** HZ/5: floor of the heartbeat timeout in sctp_transport_timeout(), ms */
export const HB_FLOOR_MS = 200;

export interface FailoverParams {
  rtoInitial: number;
  rtoMin: number;
  rtoMax: number;
  pathMaxRetrans: number;
  pfRetrans: number;
  pfEnable: boolean;
  hbInterval: number;
  associationMaxRetrans: number;
  /** number of peer paths (for the abort and RFC 4960 §8.2) */
  paths: number;
  /** smoothed RTT on the path, ms (LAN ≈ 0.1–1) */
  rttMs: number;
  /** RTT variance, ms (default rtt/2, the value after the first sample) */
  rttvarMs?: number;
  /** no RTT sample yet: RTO₀ = rto_initial (e.g. a path that never carried data) */
  unmeasured?: boolean;
  /** `uname -r` of the kernel modelled (src/kernel/hb-timer.ts); absent or null: a current kernel */
  kernelRelease?: string | null;
}

export interface Range {
  min: number;
  expected: number;
  max: number;
}

export interface FailoverModel {
  params: FailoverParams;
  /** RTO₀ actually used, ms */
  rto0: number;
  /** RTOᵢ for the strikes i = 0..path_max_retrans, at most the first LIST_MAX (later ones repeat the last) */
  rtoSeries: number[];
  /** timeouts that mark a path INACTIVE without PF: path_max_retrans + 1 */
  strikes: number;
  /** PF is reachable (src/kernel/pf.ts) */
  pfEffective: boolean;
  /** entering PF pulls in the heartbeat timer (src/kernel/hb-timer.ts; false before 6.1.11/6.2) */
  pfResetsHbTimer: boolean;
  /** the kernel difference that changed this prediction, one line (null: none did) */
  kernelNote: string | null;
  dataPath: {
    /** ms from the first unacknowledged DATA after the cut to PF (traffic moves to another path); null = no PF */
    pfMs: number | null;
    /** ms to INACTIVE (expected; heartbeat-driven after PF when PF is effective) */
    inactiveMs: number;
    /** INACTIVE with the heartbeat jitter at its extremes (min = max = expected without PF) */
    inactive: Range;
    /** what marks the path INACTIVE: T3 timeouts, or (after PF) heartbeats */
    inactiveBy: 'timeouts' | 'heartbeats';
    /** with PF: the heartbeats after PF entry (the first is not counted), expected ms each; at most LIST_MAX listed */
    hbAfterPfMs: number[];
    /** ms until traffic uses another path: PF if effective, else INACTIVE (the retransmission itself goes to an alternate at the first timeout) */
    trafficMovesMs: number;
  };
  idlePath: {
    pf: Range | null;
    inactive: Range;
  };
  abort: {
    /** ms from the cut of every path (data outstanding) to ABORT */
    ms: number;
    strikes: number;
  };
  notes: string[];
}

/** the kernel's default for a sysctl, from the catalog (its one home) */
const kernelDefault = (name: string): number => Number(lookupKey(name)!.default);

export const DEFAULT_PARAMS: FailoverParams = {
  rtoInitial: kernelDefault('rto_initial'),
  rtoMin: kernelDefault('rto_min'),
  rtoMax: kernelDefault('rto_max'),
  pathMaxRetrans: kernelDefault('path_max_retrans'),
  pfRetrans: kernelDefault('pf_retrans'),
  pfEnable: kernelDefault('pf_enable') === 1,
  hbInterval: kernelDefault('hb_interval'),
  associationMaxRetrans: kernelDefault('association_max_retrans'),
  paths: 2,
  rttMs: 1,
};

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

export function initialRto(p: FailoverParams): number {
  if (p.unmeasured) return clamp(p.rtoInitial, 1, Math.max(p.rtoMax, 1));
  const rttvar = p.rttvarMs ?? p.rttMs / 2;
  return clamp(p.rttMs + 4 * rttvar, p.rtoMin, p.rtoMax);
}

/** RTOᵢ = min(RTO₀·2ⁱ, rto_max) for any i ≥ 0 (2^1024 is Infinity, so a huge i gives rto_max). */
export function rtoAt(rto0: number, rtoMax: number, i: number): number {
  if (rto0 <= 0) return 0;
  return Math.min(rto0 * 2 ** Math.min(i, 1024), rtoMax);
}

/**
 * Σ_{i=from..to} f(RTOᵢ) in closed form: RTO doubles until it reaches rto_max
 * (about log2(rto_max/RTO₀) steps), after which every term is f(rto_max); so
 * path_max_retrans = INT_MAX costs a few dozen steps, not INT_MAX.
 */
function sumRto(rto0: number, rtoMax: number, from: number, to: number, f: (rto: number) => number): number {
  let s = 0;
  let i = from;
  for (; i <= to; i++) {
    const r = rtoAt(rto0, rtoMax, i);
    if (r >= rtoMax || r <= 0) break; // constant from here on
    s += f(r);
  }
  if (i <= to) s += (to - i + 1) * f(rtoAt(rto0, rtoMax, i));
  return s;
}

/** at most this many entries of a per-strike list are kept in the model (the rest repeat the last) */
export const LIST_MAX = 64;

/** f(RTOᵢ) for i = from..to, at most LIST_MAX entries. */
function listRto(rto0: number, rtoMax: number, from: number, to: number, f: (rto: number) => number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to && out.length < LIST_MAX; i++) out.push(f(rtoAt(rto0, rtoMax, i)));
  return out;
}

/** sctp_transport_timeout() + the reset's random part, with j ∈ [0.5, 1.5): max(RTO/2 + hb, HZ/5) + RTO·(j − ½) */
export function hbDelay(rto: number, hb: number, j: number): number {
  return Math.max(rto / 2 + hb, HB_FLOOR_MS) + rto * (j - 0.5);
}

/**
 * The first (uncounted) heartbeat after PF entry, ms after PF, R = RTO at PF entry.
 * The reset there arms base B = max(R/2, HZ/5) plus U[0, R). Where it cannot pull in a
 * pending timer (src/kernel/hb-timer.ts), the timer the ACTIVE path armed is due at E,
 * uniform in (0, P] after PF with P = max(R/2 + hb_interval, HZ/5) (re-armed from the last
 * DATA, no jitter): E ≥ B keeps E, else the reset applies. So min B, max max(P, B + R),
 * mean (B·(B + R/2) + (P² − B²)/2) / P for P > B.
 */
function firstHbAfterPf(r: number, hb: number, resets: boolean): Range {
  const fixed = { min: hbDelay(r, 0, 0.5), expected: hbDelay(r, 0, 1), max: hbDelay(r, 0, 1.5) };
  const b = fixed.min;
  const period = Math.max(r / 2 + hb, HB_FLOOR_MS);
  if (resets || period <= b) return fixed;
  return { min: b, expected: (b * fixed.expected + (period * period - b * b) / 2) / period, max: Math.max(period, fixed.max) };
}

/**
 * Idle-path detection with jitter factor j ∈ [0.5, 1.5) and phase φ ∈ [0, 1) for the first heartbeat:
 * the first heartbeat after the cut leaves after φ·period and does not count; strike k (k = 1..strikes)
 * waits hbDelay(RTO_{k−1}), with hb_interval not added once the path is PF (k > pfAfter).
 */
function idleStrikes(p: FailoverParams, rto0: number, strikes: number, pfAfter: number | null, j: number, phase: number): number {
  const first = phase * hbDelay(rto0, p.hbInterval, j);
  const activeUpTo = pfAfter === null ? strikes : Math.min(strikes, pfAfter);
  const active = sumRto(rto0, p.rtoMax, 0, activeUpTo - 1, (r) => hbDelay(r, p.hbInterval, j));
  const pf = pfAfter !== null && pfAfter < strikes ? sumRto(rto0, p.rtoMax, pfAfter, strikes - 1, (r) => hbDelay(r, 0, j)) : 0;
  return first + active + pf;
}

export { MAX_PATHS };

/**
 * Abort with every path dead: timeouts rotate over the paths not INACTIVE, each
 * with its own backoff. Once every path's RTO is constant (rto_max), each of the
 * remaining strikes adds rto_max, so that tail is a product, not a loop.
 */
function abortTime(p: FailoverParams, rto0: number, pfEffective: boolean): { ms: number; strikes: number } {
  const n = Math.min(Math.max(1, Math.floor(p.paths)), MAX_PATHS);
  const rto = Array.from({ length: n }, () => rto0);
  const errors = Array.from({ length: n }, () => 0);
  const state: Array<'ACTIVE' | 'PF' | 'INACTIVE'> = Array.from({ length: n }, () => 'ACTIVE');
  let cur = 0;
  let t = 0;
  let strikes = 0;
  // association aborted when overall error count > association_max_retrans
  const limit = p.associationMaxRetrans + 1;
  const constant = (r: number) => r >= p.rtoMax || r <= 0;
  while (strikes < limit) {
    if (rto.every((r) => constant(r) && r === rto[0])) {
      t += (limit - strikes) * rto[0]!;
      strikes = limit;
      break;
    }
    t += rto[cur]!;
    errors[cur]!++;
    strikes++;
    rto[cur] = Math.min(rto[cur]! * 2, p.rtoMax);
    if (errors[cur]! > p.pathMaxRetrans) state[cur] = 'INACTIVE';
    else if (pfEffective && errors[cur]! > p.pfRetrans) state[cur] = 'PF';
    // retransmit on the next path: ACTIVE first, then PF, else stay
    let next = -1;
    for (const want of ['ACTIVE', 'PF'] as const) {
      for (let d = 1; d <= n && next < 0; d++) {
        const c = (cur + d) % n;
        if (state[c] === want) next = c;
      }
      if (next >= 0) break;
    }
    if (next >= 0) cur = next;
  }
  return { ms: t, strikes };
}

export function modelFailover(params: FailoverParams): FailoverModel {
  const p = { ...params };
  const notes: string[] = [];
  const rto0 = initialRto(p);
  const strikes = p.pathMaxRetrans + 1;
  const series = listRto(rto0, p.rtoMax, 0, p.pathMaxRetrans, (r) => r);
  const pfEffective = pfReachable(p);
  if (!p.pfEnable) notes.push('pf_enable=0: no PF state, traffic stays on a failing primary until it is INACTIVE');
  else if (!pfEffective) notes.push(`pf_retrans (${p.pfRetrans}) ≥ path_max_retrans − 1 (${p.pathMaxRetrans - 1}): PF is never entered (the kernel needs pf_retrans < error count < path_max_retrans)`);
  const pfMs = pfEffective ? sumRto(rto0, p.rtoMax, 0, p.pfRetrans, (r) => r) : null;
  const hbReset = pfResetsHbTimer(p.kernelRelease);
  let kernelNote: string | null = null;
  let inactive: Range;
  let hbAfterPfMs: number[] = [];
  if (pfMs !== null) {
    // after PF: the first heartbeat (RTO_pf, not counted), then one per strike k = pf+1..path_max_retrans
    const rPf = rtoAt(rto0, p.rtoMax, p.pfRetrans);
    const first = firstHbAfterPf(rPf, p.hbInterval, hbReset.resets);
    const rest = (j: number) => sumRto(rto0, p.rtoMax, p.pfRetrans + 1, p.pathMaxRetrans, (r) => hbDelay(r, 0, j));
    hbAfterPfMs = listRto(rto0, p.rtoMax, p.pfRetrans, p.pathMaxRetrans, (r) => hbDelay(r, 0, 1));
    hbAfterPfMs[0] = first.expected;
    inactive = { min: pfMs + first.min + rest(0.5), expected: pfMs + first.expected + rest(1), max: pfMs + first.max + rest(1.5) };
    const onTime = hbDelay(rPf, 0, 1.5);
    if (first.max > onTime)
      kernelNote = `${hbReset.reason}: PF does not pull in the pending heartbeat timer; the first heartbeat after PF may wait ${formatMs(first.max)} (RTO/2 + hb_interval), not ${formatMs(onTime)}`;
  } else {
    const t = sumRto(rto0, p.rtoMax, 0, p.pathMaxRetrans, (r) => r);
    inactive = { min: t, expected: t, max: t };
  }
  const inactiveMs = inactive.expected;

  const pfAfter = pfEffective ? p.pfRetrans + 1 : null;
  const range = (k: number, pfA: number | null): Range => ({
    min: idleStrikes(p, rto0, k, pfA, 0.5, 0),
    expected: idleStrikes(p, rto0, k, pfA, 1, 0.5),
    max: idleStrikes(p, rto0, k, pfA, 1.5, 1),
  });
  const idleInactive = range(strikes, pfAfter);
  const idlePf = pfAfter !== null ? range(pfAfter, null) : null;
  const abort = abortTime(p, rto0, pfEffective);
  if (kernelNote) notes.push(kernelNote);
  if (p.associationMaxRetrans > p.pathMaxRetrans * p.paths)
    notes.push(`association_max_retrans > path_max_retrans × ${p.paths}: all paths can be INACTIVE before the association aborts (RFC 4960 §8.2)`);
  if (p.associationMaxRetrans < p.pathMaxRetrans + 1 && p.paths > 1)
    notes.push('association_max_retrans ≤ path_max_retrans: a single failing path can abort the association if no SACK arrives in between');
  return {
    params: p,
    rto0,
    rtoSeries: series,
    strikes,
    pfEffective,
    pfResetsHbTimer: hbReset.resets,
    kernelNote,
    dataPath: { pfMs, inactiveMs, inactive, inactiveBy: pfMs !== null ? 'heartbeats' : 'timeouts', hbAfterPfMs, trafficMovesMs: pfMs ?? rto0 },
    idlePath: { pf: idlePf, inactive: idleInactive },
    abort,
    notes,
  };
}

/** Build model parameters from net.sctp values (short names), falling back to `base`. */
export function paramsFromSysctls(
  vals: Readonly<Record<string, string | undefined>> | ReadonlyMap<string, string>,
  base: Partial<FailoverParams> = {},
): FailoverParams {
  const get = (k: string): string | undefined => (vals instanceof Map ? vals.get(k) : (vals as Record<string, string | undefined>)[k]);
  const n = (k: string, d: number) => {
    const s = get(k);
    return s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : d;
  };
  const b = { ...DEFAULT_PARAMS, ...base };
  return {
    ...b,
    rtoInitial: n('rto_initial', b.rtoInitial),
    rtoMin: n('rto_min', b.rtoMin),
    rtoMax: n('rto_max', b.rtoMax),
    pathMaxRetrans: n('path_max_retrans', b.pathMaxRetrans),
    pfRetrans: n('pf_retrans', b.pfRetrans),
    pfEnable: n('pf_enable', b.pfEnable ? 1 : 0) !== 0,
    hbInterval: n('hb_interval', b.hbInterval),
    associationMaxRetrans: n('association_max_retrans', b.associationMaxRetrans),
  };
}
