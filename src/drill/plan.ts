/**
 * What a drill would do, decided from one snapshot (pure, no I/O): which
 * association, which path, whether cutting it is safe, and what the failover
 * model predicts for this association's own parameters.
 */
import { EXIT, SctpdiagError, usageError } from '../errors.js';
import { matchAssoc, type AssocFilter } from '../model/filter.js';
import { modelFailover, paramsFromSysctls, type FailoverModel, type FailoverParams } from '../model/failover.js';
import type { Association, Path, Snapshot } from '../model/snapshot.js';
import { matches, type LinkSpec } from '../links/links.js';
import { buildRuleset, type CutSpec } from './nft.js';
import type { Targets } from './spec.js';

export interface Selection extends AssocFilter {
  /** a named link of the links file (the caller looked the name up) */
  link?: LinkSpec;
}

export interface DrillPlan {
  association: Association;
  path: Path;
  forMs: number;
  targets: Targets;
  /** which model row the measurement is compared with: the drilled path carried the data, or only heartbeats */
  regime: 'data' | 'idle';
  params: FailoverParams;
  model: FailoverModel;
  /** what the model predicts, ms from the cut; kernelNote: the kernel difference that changed it (null: none) */
  predicted: { pfMs: number | null; inactiveMs: number; inactiveMinMs: number; inactiveMaxMs: number; movedMs: number | null; kernelNote: string | null };
  cut: CutSpec;
  ruleset: string;
}

/**
 * The one association the selection names; a clear error for none or several.
 * A link's associations often share their peer addresses: the one with the
 * drilled path is taken only when no other of them has it too.
 */
export function selectAssociation(s: Snapshot, sel: Selection, path?: string): Association {
  if (sel.assocId === undefined && sel.port === undefined && sel.peer === undefined && sel.link === undefined)
    throw usageError('drill: name the association: --assoc ID, --link NAME, or --port/--peer that match exactly one');
  const l = sel.link;
  let found = s.associations.filter((a) => matchAssoc(a, sel) && (l === undefined || matches(l, a)));
  if (found.length === 0)
    throw new SctpdiagError(`drill: no association matches the selection${l ? ` (link ${l.name})` : ''}`, EXIT.NOT_FOUND, 'see `sctpdiag status`');
  if (found.length > 1 && l !== undefined && path !== undefined) {
    const withPath = found.filter((a) => a.paths.some((p) => p.address === path));
    if (withPath.length === 0)
      throw new SctpdiagError(`drill: ${path} is not a path of link ${l.name}'s associations (ids ${found.map((a) => a.id).slice(0, 10).join(', ')})`, EXIT.NOT_FOUND);
    if (withPath.length > 1)
      throw usageError(
        `drill: link ${l.name} has ${withPath.length} associations with path ${path} (ids ${withPath.map((a) => a.id).slice(0, 10).join(', ')}): which one to drill is ambiguous`,
        'pick one with --assoc ID (or narrow with --port)',
      );
    found = withPath;
  }
  if (found.length > 1)
    throw usageError(`drill: ${found.length} associations match (ids ${found.map((a) => a.id).slice(0, 10).join(', ')}); pick one with --assoc`);
  return found[0]!;
}

/** Refuse a cut that is not a drill: unknown path, or nothing left to carry the traffic. */
export function checkSafe(a: Association, peer: string): Path {
  const path = a.paths.find((p) => p.address === peer);
  if (!path)
    throw new SctpdiagError(`drill: ${peer} is not a path of association ${a.id}`, EXIT.NOT_FOUND, `its paths: ${a.paths.map((p) => p.address).join(', ') || 'none'}`);
  if (a.state !== 'ESTABLISHED')
    throw new SctpdiagError(`drill: association ${a.id} is ${a.state}, not ESTABLISHED`, EXIT.DRILL_UNSAFE);
  const others = a.paths.filter((p) => p !== path && p.state === 'ACTIVE');
  if (others.length === 0)
    throw new SctpdiagError(
      `drill: association ${a.id} has no other ACTIVE path than ${peer}: cutting it would stall or abort the association`,
      EXIT.DRILL_UNSAFE,
      a.paths.length < 2 ? 'it is single-homed on the peer side' : `other paths: ${a.paths.filter((p) => p !== path).map((p) => `${p.address} ${p.state}`).join(', ')}`,
    );
  if (a.localAddresses.length === 0) throw new SctpdiagError(`drill: association ${a.id} lists no local address`, EXIT.DRILL_UNSAFE);
  return path;
}

/**
 * The model for this association: its RTO on the path now as RTO₀ (as the
 * tune lab test does), its own Path.Max.Retrans, heartbeat interval and
 * Association.Max.Retrans; rto_min/max, pf_retrans and pf_enable from the
 * namespace's sysctls (procfs does not print the association's own copies);
 * the kernel release for what differs between kernels.
 */
export function modelFor(a: Association, path: Path, sysctls: ReadonlyMap<string, string>, kernelRelease: string | null = null): { params: FailoverParams; model: FailoverModel } {
  const base = paramsFromSysctls(sysctls, { paths: a.paths.length });
  const rto0 = Math.max(1, path.rtoMs);
  const params: FailoverParams = {
    ...base,
    pathMaxRetrans: path.maxPathRetrans,
    hbInterval: a.heartbeatIntervalMs,
    associationMaxRetrans: a.maxRetrans,
    rttMs: rto0,
    rttvarMs: 0,
    rtoMin: Math.min(base.rtoMin, rto0),
    rtoMax: Math.max(base.rtoMax, Math.min(base.rtoMin, rto0)),
    kernelRelease,
  };
  return { params, model: modelFailover(params) };
}

function predict(a: Association, path: Path, regime: 'data' | 'idle', sysctls: ReadonlyMap<string, string>, kernelRelease: string | null) {
  const { params, model } = modelFor(a, path, sysctls, kernelRelease);
  const predicted: DrillPlan['predicted'] =
    regime === 'data'
      ? {
          pfMs: model.dataPath.pfMs,
          inactiveMs: model.dataPath.inactiveMs,
          inactiveMinMs: model.dataPath.inactive.min,
          inactiveMaxMs: model.dataPath.inactive.max,
          movedMs: model.dataPath.trafficMovesMs,
          kernelNote: model.kernelNote,
        }
      : {
          pfMs: model.idlePath.pf?.expected ?? null,
          inactiveMs: model.idlePath.inactive.expected,
          inactiveMinMs: model.idlePath.inactive.min,
          inactiveMaxMs: model.idlePath.inactive.max,
          movedMs: null,
          kernelNote: null,
        };
  return { params, model, predicted };
}

/**
 * The plan again for the path's RTO read just before the cut: T3 and heartbeats run on the
 * RTO in force then, and bpftrace's start (up to a minute) lies between the plan and the cut.
 */
export function atCut(plan: DrillPlan, rtoMs: number, sysctls: ReadonlyMap<string, string>): DrillPlan {
  if (!(rtoMs > 0) || rtoMs === plan.path.rtoMs) return plan;
  const path = { ...plan.path, rtoMs };
  return { ...plan, path, ...predict(plan.association, path, plan.regime, sysctls, plan.params.kernelRelease ?? null) };
}

export function makePlan(
  s: Snapshot,
  sel: Selection,
  peer: string,
  forMs: number,
  targets: Targets,
  sysctls: ReadonlyMap<string, string>,
): DrillPlan {
  const association = selectAssociation(s, sel, peer);
  const path = checkSafe(association, peer);
  // procfs has no active path; the inferred one (the primary while ACTIVE) carries the data
  const regime = association.activePath === path.address ? 'data' : 'idle';
  const { params, model, predicted } = predict(association, path, regime, sysctls, s.kernelRelease);
  const cut: CutSpec = {
    localAddresses: association.localAddresses.map((l) => l.address),
    localPort: association.localPort,
    peerAddress: path.address,
    peerPort: association.peerPort,
    forMs,
  };
  return { association, path, forMs, targets, regime, params, model, predicted, cut, ruleset: buildRuleset(cut) };
}
