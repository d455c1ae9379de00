/**
 * The drill's report: the plan (dry run) or the plan plus what was measured,
 * compared with the model and the --target. The same object is printed as
 * text or (--json) as JSON; schema/drill.schema.json describes it.
 */
import { formatMs } from '../model/figures.js';
import { table, type Style } from '../render/style.js';
import type { DrillPlan } from './plan.js';
import type { PollStats, Timeline } from './measure.js';
import { type BpfOutcome, type Figure } from './bpf.js';
import type { TargetKey, Targets } from './spec.js';

export const DRILL_SCHEMA_VERSION = 1;

export interface EventRow {
  event: TargetKey;
  /** ms; from the cut, or from the restore for ACTIVE */
  measuredMs: number | null;
  modelMs: number | null;
  /** (measured − model) / model */
  delta: number | null;
  targetMs: number | null;
  /** null: no target for this event */
  pass: boolean | null;
  /** what measured it: kernel-stamped bpf events, or procfs polling (null: a dry run, or not measurable) */
  source: 'bpf' | 'procfs' | null;
}

/** the timeline figure each event row shows */
const ROW_FIGURE: Record<TargetKey, Figure> = { STRIKE: 'strikeMs', PF: 'pfMs', INACTIVE: 'inactiveMs', MOVED: 'movedMs', ACTIVE: 'activeAgainMs' };

export interface DrillReport {
  schemaVersion: typeof DRILL_SCHEMA_VERSION;
  mode: 'dry-run' | 'executed';
  netns: string | null;
  association: { id: number; localPort: number; peerPort: number; localAddresses: string[]; state: string };
  paths: { address: string; state: string; primary: boolean; active: boolean; rtoMs: number; maxPathRetrans: number }[];
  path: string;
  forMs: number;
  regime: 'data' | 'idle';
  params: DrillPlan['params'];
  predicted: DrillPlan['predicted'];
  nft: { table: string; ruleset: string };
  targets: Targets;
  measurement?: {
    /** what measured the event figures: all bpf, all procfs, or some each (events[].source) */
    source: 'bpf' | 'procfs' | 'mixed';
    /** bpf's part: why it did not measure (all or some figures) and what ran */
    bpf: BpfOutcome;
    /** the procfs poll's own figures (kept when bpf measured: the two agree within the polling gap) */
    procfsTimeline: Timeline;
    stats: PollStats;
    /** the cut's start is known to ± this many ms (nft's commit between writing its input and its exit) */
    cutUncertaintyMs: number;
    timeline: Timeline;
    retransmissions: number | null;
    tableRemoved: boolean;
    /** the drill was ended early by a signal */
    interrupted: string | null;
  };
  events: EventRow[];
  verdict: 'dry-run' | 'pass' | 'fail';
  failures: string[];
}

export function planReport(p: DrillPlan, netns: string | null): DrillReport {
  const a = p.association;
  return {
    schemaVersion: DRILL_SCHEMA_VERSION,
    mode: 'dry-run',
    netns,
    association: { id: a.id, localPort: a.localPort, peerPort: a.peerPort, localAddresses: a.localAddresses.map((l) => l.address), state: a.state },
    paths: a.paths.map((x) => ({ address: x.address, state: x.state, primary: x.primary, active: x.active, rtoMs: x.rtoMs, maxPathRetrans: x.maxPathRetrans })),
    path: p.path.address,
    forMs: p.forMs,
    regime: p.regime,
    params: p.params,
    predicted: p.predicted,
    nft: { table: 'inet sctpdiag_drill', ruleset: p.ruleset },
    targets: p.targets,
    events: events(p, null),
    verdict: 'dry-run',
    failures: [],
  };
}

function events(p: DrillPlan, tl: Timeline | null, bpfFigures: readonly Figure[] = []): EventRow[] {
  const strikeModel = p.regime === 'data' ? p.model.rto0 : null;
  const rows: [TargetKey, number | null, number | null][] = [
    ['STRIKE', tl?.strikeMs ?? null, strikeModel],
    ['PF', tl?.pfMs ?? null, p.predicted.pfMs],
    ['INACTIVE', tl?.inactiveMs ?? null, p.predicted.inactiveMs],
    ['MOVED', tl?.movedMs ?? null, p.predicted.movedMs],
    ['ACTIVE', tl?.activeAgainMs ?? null, null],
  ];
  return rows.map(([event, measuredMs, modelMs]) => {
    const targetMs = p.targets[event] ?? null;
    return {
      event,
      measuredMs: measuredMs === null ? null : Math.round(measuredMs),
      modelMs: modelMs === null ? null : Math.round(modelMs),
      delta: measuredMs !== null && modelMs ? (measuredMs - modelMs) / modelMs : null,
      targetMs,
      pass: targetMs === null || tl === null ? null : measuredMs !== null && measuredMs <= targetMs,
      source: tl === null ? null : bpfFigures.includes(ROW_FIGURE[event]) ? 'bpf' : 'procfs',
    };
  });
}

export function measuredReport(
  p: DrillPlan,
  netns: string | null,
  m: NonNullable<DrillReport['measurement']>,
): DrillReport {
  const r = planReport(p, netns);
  r.mode = 'executed';
  r.measurement = m;
  r.events = events(p, m.timeline, m.bpf.figures);
  const f: string[] = [];
  for (const e of r.events)
    if (e.pass === false) f.push(e.measuredMs === null ? `${e.event} never seen (target ${formatMs(e.targetMs)})` : `${e.event} ${formatMs(e.measuredMs)} > target ${formatMs(e.targetMs)}`);
  const tl = m.timeline;
  if (m.interrupted) f.push(`interrupted by ${m.interrupted}`);
  if (tl.aborted) f.push('the association was aborted');
  else if (tl.strikeMs === null && !m.interrupted) f.push('the cut had no visible effect on the path');
  else if (tl.pfMs !== null && tl.activeAgainMs === null && !m.interrupted) f.push('the path did not come back ACTIVE after the restore');
  if (!tl.backupHeld) f.push('no other path stayed ACTIVE during the cut');
  if (!m.tableRemoved) f.push(`the nft table could not be removed (its elements expire by themselves; remove it with: nft delete table inet sctpdiag_drill)`);
  r.failures = f;
  r.verdict = f.length ? 'fail' : 'pass';
  return r;
}

const pct = (d: number | null) => (d === null ? '' : `${d >= 0 ? '+' : ''}${Math.round(d * 100)}%`);

export function printDrill(r: DrillReport, s: Style): string {
  const a = r.association;
  const out: string[] = [
    `${s.bold(`Drill: association ${a.id}`)} ${a.localAddresses.join(',')}:${a.localPort} → port ${a.peerPort}${r.netns ? ` (netns ${r.netns})` : ''}, cut ${r.path} for ${formatMs(r.forMs)}`,
  ];
  out.push(...table([['PATH', 'STATE', 'RTO', 'MAX_PATH_RTX', ''], ...r.paths.map((p) => [p.address, p.state, formatMs(p.rtoMs), String(p.maxPathRetrans), [p.primary ? 'primary' : '', p.active ? 'active (inferred)' : '', p.address === r.path ? '← cut' : ''].filter(Boolean).join(', ')])]));
  const q = r.params;
  out.push(
    `Model (${r.regime === 'data' ? 'the path carries the data' : 'idle path: heartbeats only'}): RTO₀ ${formatMs(q.rttMs)} rto_min ${q.rtoMin} rto_max ${q.rtoMax} path_max_retrans ${q.pathMaxRetrans} pf_retrans ${q.pfRetrans}${q.pfEnable ? '' : ' (pf off)'} hb_interval ${q.hbInterval} association_max_retrans ${q.associationMaxRetrans}`,
  );
  if (r.predicted.kernelNote) out.push(s.yellow('! ' + r.predicted.kernelNote));
  const rows = [['EVENT', 'MEASURED', 'MODEL', 'Δ', 'TARGET', '']];
  for (const e of r.events) {
    if (r.mode === 'dry-run' && e.modelMs === null && e.targetMs === null) continue;
    rows.push([
      e.event === 'ACTIVE' ? 'ACTIVE again (from restore)' : e.event,
      r.mode === 'dry-run' ? '—' : formatMs(e.measuredMs),
      formatMs(e.modelMs),
      pct(e.delta),
      e.targetMs === null ? '' : formatMs(e.targetMs),
      e.pass === null ? '' : e.pass ? s.green('pass') : s.red('FAIL'),
    ]);
  }
  out.push(...table(rows));
  const m = r.measurement;
  if (m) {
    const b = m.bpf;
    const polled = `polling /proc/net/sctp/remaddr (${m.stats.samples} reads, every ${m.stats.intervalMs} ms, longest gap ${formatMs(Math.round(m.stats.maxGapMs))})`;
    const bpfText = `bpf events stamped by the kernel (${b.probes.join(', ')}; attached in ${formatMs(b.attachMs)}, ${b.events} event(s))`;
    out.push(
      m.source === 'bpf'
        ? `Measured from ${bpfText}; cut start ± ${formatMs(Math.round(m.cutUncertaintyMs))}. Backup and retransmissions by ${polled}.`
        : m.source === 'mixed'
          ? `Measured from ${bpfText}, and by ${polled} for ${r.events.filter((e) => e.source === 'procfs').map((e) => e.event).join(', ')} (${b.reason}); cut start ± ${formatMs(Math.round(m.cutUncertaintyMs))}.`
          : `Measured by ${polled}; cut start ± ${formatMs(Math.round(m.cutUncertaintyMs))}; MOVED is inferred from PF (procfs prints no active path). Not from bpf: ${b.reason ?? 'unknown'}.`,
      `Modelled for the path's RTO just before the cut: ${formatMs(r.params.rttMs)} (params.rttMs).`,
      `Another path ACTIVE throughout: ${m.timeline.backupHeld ? 'yes' : 'no'}; primary back: ${m.timeline.primaryBackMs === null ? '—' : formatMs(Math.round(m.timeline.primaryBackMs)) + ' after the restore'}; retransmitted chunks during the drill: ${m.retransmissions ?? '?'}; nft table removed: ${m.tableRemoved ? 'yes' : 'NO'}`,
    );
    for (const f of r.failures) out.push(s.red('✗ ' + f));
    out.push(r.verdict === 'pass' ? s.green('PASS') : s.red('FAIL'));
  } else {
    out.push('', `nft ruleset (table inet sctpdiag_drill; each element expires by itself after ${formatMs(r.forMs)}):`, r.nft.ruleset.trimEnd(), '');
    out.push(s.dim('Dry run: nothing changed. Add --yes to cut the path.'));
  }
  return out.join('\n');
}
