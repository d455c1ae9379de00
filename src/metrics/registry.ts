/**
 * The Prometheus registry (prom-client), rebuilt from the latest cached
 * snapshots at every scrape. Naming follows the Prometheus guide: base units
 * (seconds), `_total` for counters, snake_case, `sctp_` for what the kernel
 * reports and `sctpdiag_` for the exporter itself. Labels never carry address
 * lists or kernel pointers; per-association and per-path series are capped.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { ASSOC_STATES, PATH_STATE_NAMES } from '../kernel/enums.js';
import type { Snapshot } from '../model/snapshot.js';
import { VERSION } from '../paths.js';
import type { EventCounts } from './events.js';
import type { Reading } from './source.js';

export interface RegistryOptions {
  /** add a `netns` label to every sctp_ series (--all-netns) */
  netnsLabel: boolean;
  /** per-association path count series, at most this many associations (0: off) */
  maxAssociations: number;
  /** per-path RTO gauges (opt-in), at most this many paths */
  pathRto: boolean;
  maxPaths: number;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = { netnsLabel: false, maxAssociations: 500, pathRto: false, maxPaths: 200 };

/** SctpT3RtxExpireds → t3_rtx_expireds; SctpOutSCTPPacks → out_sctp_packs */
export function snakeCounterName(kernelName: string): string {
  return kernelName
    .replace(/^Sctp/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** SNMP fields that are gauges, not counters. */
const SNMP_GAUGES = new Set(['SctpCurrEstab']);

export function snmpMetricName(kernelName: string): string {
  const base = `sctp_snmp_${snakeCounterName(kernelName)}`;
  return SNMP_GAUGES.has(kernelName) ? base : `${base}_total`;
}

const netnsValue = (s: Snapshot): string => s.netns ?? 'current';

export interface MetricsModel {
  registry: Registry;
  /** refresh every series from a reading and the event counts */
  update(r: Reading | null, events: EventCounts | null): void;
}

export function buildMetrics(opts: RegistryOptions = DEFAULT_REGISTRY_OPTIONS): MetricsModel {
  const registry = new Registry();
  const ns = opts.netnsLabel ? ['netns'] : [];
  const reg = { registers: [registry] };

  const up = new Gauge({ name: 'sctp_up', help: 'whether the last read of /proc/net/sctp succeeded (1) or failed (0)', labelNames: [], ...reg });
  const associations = new Gauge({ name: 'sctp_associations', help: 'SCTP associations by state', labelNames: [...ns, 'state'], ...reg });
  const paths = new Gauge({ name: 'sctp_paths', help: 'SCTP paths (peer addresses of all associations) by state', labelNames: [...ns, 'state'], ...reg });
  const endpoints = new Gauge({ name: 'sctp_endpoints', help: 'SCTP endpoints (bound and listening sockets)', labelNames: [...ns], ...reg });
  const assocLabels = [...ns, 'assoc_id', 'local_port', 'peer_port'];
  const assocPaths = new Gauge({ name: 'sctp_association_paths', help: 'number of paths (peer addresses) of each association', labelNames: assocLabels, ...reg });
  const assocActive = new Gauge({ name: 'sctp_association_active_paths', help: 'number of ACTIVE paths of each association', labelNames: assocLabels, ...reg });
  const assocsByPaths = new Gauge({
    name: 'sctp_associations_by_active_paths',
    help: 'established associations by their number of ACTIVE paths (0, 1, 2, 3, 4+)',
    labelNames: [...ns, 'active_paths'],
    ...reg,
  });
  const rto = opts.pathRto
    ? new Gauge({ name: 'sctp_path_rto_seconds', help: 'current retransmission timeout of each path', labelNames: [...assocLabels, 'peer'], ...reg })
    : null;
  const dropped = new Gauge({ name: 'sctpdiag_series_dropped', help: 'per-association or per-path series left out by the cardinality limits; kind="snmp": SNMP fields whose metric name is invalid or taken', labelNames: ['kind'], ...reg });
  const events = new Counter({ name: 'sctp_events_total', help: 'SCTP events seen by the live pipeline, by type and source (bpf or procfs)', labelNames: ['type', 'source'], ...reg });
  const lost = new Counter({ name: 'sctpdiag_probe_lost_events_total', help: 'events the kernel or bpftrace dropped', ...reg });
  const source = new Gauge({ name: 'sctpdiag_event_source_info', help: 'the current event source (1 for the active one)', labelNames: ['source'], ...reg });
  const build = new Gauge({ name: 'sctpdiag_build_info', help: 'sctpdiag version and Node.js runtime', labelNames: ['version', 'nodejs'], ...reg });
  build.set({ version: VERSION, nodejs: process.versions.node }, 1);
  const readDuration = new Gauge({ name: 'sctpdiag_snapshot_duration_seconds', help: 'time the last procfs read took', ...reg });
  const readAge = new Gauge({ name: 'sctpdiag_snapshot_age_seconds', help: 'age of the data served', ...reg });
  const readInterval = new Gauge({
    name: 'sctpdiag_snapshot_interval_seconds',
    help: 'how long a read is served before a scrape reads again: --min-interval, or ten times the read\'s duration (at most 60 s) if longer',
    ...reg,
  });
  const snmp = new Map<string, Counter | Gauge | null>();

  /** null: the kernel name maps to an invalid or already taken metric name (a hostile capture): skipped, never a failed scrape */
  function snmpMetric(name: string): Counter | Gauge | null {
    if (snmp.has(name)) return snmp.get(name)!;
    const metricName = snmpMetricName(name);
    let m: Counter | Gauge | null = null;
    if (/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metricName) && !registry.getSingleMetric(metricName)) {
      const help = `kernel SCTP MIB counter ${name} (/proc/net/sctp/snmp)`;
      m = SNMP_GAUGES.has(name)
        ? new Gauge({ name: metricName, help, labelNames: ns, ...reg })
        : new Counter({ name: metricName, help, labelNames: ns, ...reg });
    }
    snmp.set(name, m);
    return m;
  }

  function update(r: Reading | null, ev: EventCounts | null): void {
    for (const g of [associations, paths, endpoints, assocPaths, assocActive, assocsByPaths, dropped, source]) g.reset();
    rto?.reset();
    for (const m of snmp.values()) m?.reset();
    events.reset();
    lost.reset();
    up.set(r && !r.error ? 1 : 0);
    if (r) {
      readDuration.set(r.durationMs / 1000);
      readAge.set(Math.max(0, (Date.now() - r.at) / 1000));
      readInterval.set(r.servedForMs / 1000);
    }
    let assocBudget = opts.maxAssociations;
    let pathBudget = opts.maxPaths;
    let droppedAssocs = 0;
    let droppedPaths = 0;
    let droppedSnmp = 0;
    for (const s of r?.snapshots ?? []) {
      const nsl: Record<string, string> = opts.netnsLabel ? { netns: netnsValue(s) } : {};
      // zero series for every known state: absent and zero mean different things to alerts
      for (const st of ASSOC_STATES) associations.set({ ...nsl, state: st }, 0);
      for (const st of PATH_STATE_NAMES) paths.set({ ...nsl, state: st }, 0);
      for (const k of ['0', '1', '2', '3', '4+']) assocsByPaths.set({ ...nsl, active_paths: k }, 0);
      endpoints.set(nsl, s.endpoints.length);
      for (const a of s.associations) {
        associations.inc({ ...nsl, state: a.state }, 1);
        const active = a.paths.filter((p) => p.state === 'ACTIVE').length;
        for (const p of a.paths) paths.inc({ ...nsl, state: p.state }, 1);
        if (a.state === 'ESTABLISHED') assocsByPaths.inc({ ...nsl, active_paths: active >= 4 ? '4+' : String(active) }, 1);
        const al = { ...nsl, assoc_id: String(a.id), local_port: String(a.localPort), peer_port: String(a.peerPort) };
        if (a.id !== 0 && assocBudget > 0) {
          assocBudget--;
          assocPaths.set(al, a.paths.length);
          assocActive.set(al, active);
        } else if (a.id !== 0 && opts.maxAssociations > 0) droppedAssocs++;
        if (rto && a.id !== 0)
          for (const p of a.paths) {
            if (pathBudget > 0) {
              pathBudget--;
              rto.set({ ...al, peer: p.address }, p.rtoMs / 1000);
            } else droppedPaths++;
          }
      }
      for (const [name, value] of Object.entries(s.snmp)) {
        const m = snmpMetric(name);
        if (!m) droppedSnmp++;
        else if (m instanceof Counter) m.inc(nsl, Math.max(0, value));
        else m.set(nsl, value);
      }
    }
    dropped.set({ kind: 'association' }, droppedAssocs);
    if (rto) dropped.set({ kind: 'path' }, droppedPaths);
    if (droppedSnmp) dropped.set({ kind: 'snmp' }, droppedSnmp);
    if (ev) {
      for (const e of ev.entries()) events.inc({ type: e.type, source: e.source }, e.count);
      lost.inc(ev.lostEvents);
      source.set({ source: ev.source }, 1);
    }
  }

  return { registry, update };
}
