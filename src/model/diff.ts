/**
 * The procfs fallback of `trace`: derive the same typed events the bpf probes
 * produce by comparing two snapshots of one netns. Pure: no I/O, no clock.
 *
 * What procfs can show: path state changes (ACTIVE/PF/INACTIVE/UNCONFIRMED),
 * primary changes, peer and local addresses added/removed, associations
 * reaching or leaving an up state. What it cannot: anything shorter than the
 * polling interval (a PF that recovers within it), restarts, heartbeats, T3
 * timeouts, the kernel's active path (inferred only).
 */
import { isUpState } from '../kernel/enums.js';
import {
  EVENT_SCHEMA_VERSION,
  type AssocRef,
  type EventSeverity,
  type EventType,
  type SctpEvent,
} from '../events/types.js';
import type { Association, Snapshot } from './snapshot.js';

export interface DiffOptions {
  /** only derive these event types (default: all procfs can see) */
  types?: ReadonlySet<EventType>;
}

/** The event types the procfs diff can derive. */
export const PROCFS_EVENT_TYPES: readonly EventType[] = [
  'path.state',
  'path.primary',
  'peer.added',
  'peer.removed',
  'local.added',
  'local.removed',
  'assoc.up',
  'assoc.down',
  'chunk.abort',
  'packet.ootb',
];

export function assocRef(a: Association): AssocRef {
  return {
    id: a.id,
    localPort: a.localPort,
    peerPort: a.peerPort,
    localAddresses: a.localAddresses.map((l) => l.address),
    owners: a.owners,
  };
}

export function pathStateSeverity(to: string, assocUp: boolean): EventSeverity {
  if (to === 'INACTIVE') return assocUp ? 'warn' : 'info';
  if (to === 'PF') return 'warn';
  return 'info';
}

/** the last element with this address (what a Map built from the list would hold) */
function lastWith<T extends { address: string }>(xs: readonly T[], address: string): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (xs[i]!.address === address) return xs[i];
  return undefined;
}

/** index of the first element with this address (a Set of the list iterates in that order) */
function firstAt(xs: readonly { address: string }[], address: string): number {
  return xs.findIndex((x) => x.address === address);
}

export function diffSnapshots(prev: Snapshot, next: Snapshot, o: DiffOptions = {}): SctpEvent[] {
  const out: SctpEvent[] = [];
  const want = (t: EventType) => o.types === undefined || o.types.has(t);
  const base = (type: EventType, severity: EventSeverity, a: Association): SctpEvent => ({ ...procfsEvent(type, severity, next), assoc: assocRef(a) });
  const before = new Map<string, Association>();
  for (const a of prev.associations) before.set(a.key, a);
  const after = new Set<string>();
  for (const a of next.associations) after.add(a.key);

  for (const a of next.associations) {
    const p = before.get(a.key);
    const upNow = isUpState(a.state);
    if (!p) {
      if (upNow && want('assoc.up'))
        out.push({ ...base('assoc.up', 'info', a), to: a.state, path: a.primaryPath ?? undefined, reason: 'association established' });
      continue;
    }
    const upBefore = isUpState(p.state);
    if (!upBefore && upNow && want('assoc.up'))
      out.push({ ...base('assoc.up', 'info', a), from: p.state, to: a.state, path: a.primaryPath ?? undefined, reason: 'association established' });
    if (upBefore && !upNow && want('assoc.down'))
      out.push({ ...base('assoc.down', 'info', a), from: p.state, to: a.state, reason: `association left ${p.state} (${a.state})` });

    // peers and path states (a handful per association: scans, not a Map and
    // a Set per association, which at 10k were most of a diff's time and garbage)
    for (const x of a.paths) {
      const o2 = lastWith(p.paths, x.address);
      if (!o2) {
        if (want('peer.added'))
          out.push({ ...base('peer.added', 'info', a), path: x.address, to: x.state, reason: 'peer address added' });
        continue;
      }
      if (o2.state !== x.state && want('path.state'))
        out.push({
          ...base('path.state', pathStateSeverity(x.state, upNow), a),
          path: x.address,
          from: o2.state,
          to: x.state,
          activePath: a.activePath,
          reason: `path ${x.address} ${o2.state} -> ${x.state}`,
        });
    }
    for (const x of p.paths)
      if (lastWith(a.paths, x.address) === undefined && want('peer.removed'))
        out.push({ ...base('peer.removed', 'info', a), path: x.address, from: x.state, reason: 'peer address removed' });

    if (p.primaryPath !== a.primaryPath && a.primaryPath !== null && want('path.primary'))
      out.push({
        ...base('path.primary', 'info', a),
        path: a.primaryPath,
        from: p.primaryPath,
        to: a.primaryPath,
        reason: 'primary path changed',
      });

    const oldLocal = p.localAddresses;
    const newLocal = a.localAddresses;
    newLocal.forEach(({ address: l }, i) => {
      if (firstAt(newLocal, l) === i && lastWith(oldLocal, l) === undefined && want('local.added'))
        out.push({ ...base('local.added', 'info', a), to: l, reason: 'local address added' });
    });
    oldLocal.forEach(({ address: l }, i) => {
      if (firstAt(oldLocal, l) === i && lastWith(newLocal, l) === undefined && want('local.removed'))
        out.push({ ...base('local.removed', 'info', a), from: l, reason: 'local address removed' });
    });
  }

  for (const p of prev.associations) {
    if (after.has(p.key) || !isUpState(p.state) || !want('assoc.down')) continue;
    // gone while up: if paths were failing at the last look it was most
    // likely lost (COMM_LOST: the abort lands between two polls); otherwise
    // it was closed or aborted by an application
    const failing = p.paths.filter((x) => x.state === 'INACTIVE' || x.state === 'PF').length;
    const all = p.paths.length > 0 && failing === p.paths.length;
    out.push({
      ...base('assoc.down', failing > 0 ? 'fail' : 'warn', p),
      from: p.state,
      to: null,
      reason: all
        ? 'association lost: every path was unreachable'
        : failing > 0
          ? `association gone while ${failing} of ${p.paths.length} paths were unreachable: probably lost`
          : 'association gone (closed or aborted)',
    });
  }
  out.push(...snmpEvents(prev, next, want));
  return out;
}

function procfsEvent(type: EventType, severity: EventSeverity, next: Snapshot): SctpEvent {
  return { schemaVersion: EVENT_SCHEMA_VERSION, time: next.takenAt, type, source: 'procfs', severity, netns: next.netns };
}

/** procfs has no chunk, only the MIB: how many associations were aborted and OOTB packets came (the cause and source need bpf) */
function snmpEvents(prev: Snapshot, next: Snapshot, want: (t: EventType) => boolean): SctpEvent[] {
  const out: SctpEvent[] = [];
  const grew = (name: string): number => {
    const a = prev.snmp[name];
    const b = next.snmp[name];
    // a counter that went back (a different netns, a reset) is not a delta
    return a !== undefined && b !== undefined && b > a ? b - a : 0;
  };
  const ev = (type: EventType, severity: EventSeverity, count: number, reason: string): SctpEvent => ({ ...procfsEvent(type, severity, next), reason, metrics: { count } });
  const aborted = grew('SctpAborteds');
  if (aborted && want('chunk.abort'))
    out.push(ev('chunk.abort', 'fail', aborted, `SctpAborteds +${aborted}: association(s) aborted (ABORT sent or received); the cause and the peer need bpf`));
  const ootb = grew('SctpOutOfBlues');
  if (ootb && want('packet.ootb'))
    out.push(ev('packet.ootb', 'warn', ootb, `SctpOutOfBlues +${ootb}: packet(s) matching no association; their source needs bpf`));
  return out;
}
