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
import { VERSION } from '../package-files.js';
import type { SctpEvent } from '../events/types.js';
import type { EventCounts } from './events.js';
import { eventLink, linkAssocUp, linkOf, type LinkSpec } from '../links/links.js';
import type { Reading } from './source.js';

export interface RegistryOptions {
  /** add a `netns` label to every sctp_ series (--all-netns) */
  netnsLabel: boolean;
  /** per-association path count series, at most this many associations (0: off) */
  maxAssociations: number;
  /** per-path RTO gauges (opt-in), at most this many paths */
  pathRto: boolean;
  maxPaths: number;
  /** named links (--links): a bounded `link` label, and sctp_link_* series for each, present even without an association */
  links: readonly LinkSpec[];
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = { netnsLabel: false, maxAssociations: 500, pathRto: false, maxPaths: 200, links: [] };

/** event types counted per link (zero from the start, so rate() and increase() work from the first event) */
export const LINK_EVENT_TYPES = ['path.state', 'path.primary', 'path.rtx_timeout', 'assoc.up', 'assoc.down', 'assoc.restart', 'chunk.abort'] as const;

/** the path role label: primary, or alt1, alt2… in the kernel's order (addresses are not labels) */
export function pathRoles(paths: readonly { primary: boolean }[]): string[] {
  let n = 0;
  return paths.map((p) => (p.primary ? 'primary' : `alt${++n}`));
}

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

const chunkLabels = (k: string): { direction: string; cause: string } => {
  const [direction, cause] = k.split('\0') as [string, string];
  return { direction, cause };
};

export interface MetricsModel {
  registry: Registry;
  /** refresh every series from a reading and the event counts */
  update(r: Reading | null, events: EventCounts | null): void;
  /** the link of an association id in the last reading (events are counted per link with it) */
  linkOfAssoc(id: number): string | null;
}

export function buildMetrics(o: Partial<RegistryOptions> = {}): MetricsModel {
  const opts: RegistryOptions = { ...DEFAULT_REGISTRY_OPTIONS, ...o };
  const registry = new Registry();
  const ns = opts.netnsLabel ? ['netns'] : [];
  const reg = { registers: [registry] };

  const up = new Gauge({ name: 'sctp_up', help: 'whether the last read of /proc/net/sctp succeeded (1) or failed (0)', labelNames: [], ...reg });
  const associations = new Gauge({ name: 'sctp_associations', help: 'SCTP associations by state', labelNames: [...ns, 'state'], ...reg });
  const paths = new Gauge({ name: 'sctp_paths', help: 'SCTP paths (peer addresses of all associations) by state', labelNames: [...ns, 'state'], ...reg });
  const endpoints = new Gauge({ name: 'sctp_endpoints', help: 'SCTP endpoints (bound and listening sockets)', labelNames: [...ns], ...reg });
  const assocLabels = [...ns, 'assoc_id', 'local_port', 'peer_port', 'link'];
  const assocPaths = new Gauge({ name: 'sctp_association_paths', help: 'number of paths (peer addresses) of each association', labelNames: assocLabels, ...reg });
  const assocActive = new Gauge({ name: 'sctp_association_active_paths', help: 'number of ACTIVE paths of each association', labelNames: assocLabels, ...reg });
  const assocsByPaths = new Gauge({
    name: 'sctp_associations_by_active_paths',
    help: 'established associations by their number of ACTIVE paths (0, 1, 2, 3, 4+)',
    labelNames: [...ns, 'active_paths'],
    ...reg,
  });
  const assocGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: assocLabels, ...reg });
  const assocLocal = assocGauge('sctp_association_local_addresses', 'number of local addresses of each association');
  const assocSingle = assocGauge('sctp_association_locally_single_homed', '1 when the association has one local address toward several peer addresses: a local link failure kills it');
  const assocPrimary = assocGauge('sctp_association_primary_not_active', '1 when the established association\'s primary path is neither ACTIVE nor UNCONFIRMED (traffic runs elsewhere)');
  const assocTx = assocGauge('sctp_association_tx_queue_bytes', 'bytes queued for sending (TX_QUEUE)');
  const assocRx = assocGauge('sctp_association_rx_queue_bytes', 'bytes received, not yet read by the application (RX_QUEUE)');
  const assocRtx = new Counter({ name: 'sctp_association_retransmitted_chunks_total', help: 'DATA chunks retransmitted by each association (RTXC)', labelNames: assocLabels, ...reg });
  const rto = opts.pathRto
    ? new Gauge({ name: 'sctp_path_rto_seconds', help: 'current retransmission timeout of each path (path: primary, alt1, alt2… in the kernel\'s order)', labelNames: [...assocLabels, 'path'], ...reg })
    : null;
  // with bpf, the path's figures of its last RTT sample / SACK (path-rtt.bt, path-metrics.bt), under the same labels and cap
  const pathGauge = (name: string, help: string) => (opts.pathRto ? new Gauge({ name, help: `${help}; bpf only, with --path-rto`, labelNames: [...assocLabels, 'path'], ...reg }) : null);
  const pathFigures = [
    { g: pathGauge('sctp_path_srtt_seconds', 'smoothed round-trip time of each path, as the kernel computes it'), f: 'srttMs', scale: 1e-3 },
    { g: pathGauge('sctp_path_rttvar_seconds', 'round-trip time variation of each path'), f: 'rttvarMs', scale: 1e-3 },
    { g: pathGauge('sctp_path_cwnd_bytes', 'congestion window of each path'), f: 'cwndBytes', scale: 1 },
    { g: pathGauge('sctp_path_ssthresh_bytes', 'slow-start threshold of each path'), f: 'ssthreshBytes', scale: 1 },
    { g: pathGauge('sctp_path_flight_bytes', 'bytes in flight on each path'), f: 'flightBytes', scale: 1 },
    { g: pathGauge('sctp_path_mtu_bytes', 'path MTU of each path'), f: 'pmtuBytes', scale: 1 },
    { g: pathGauge('sctp_path_errors', 'error count of each path (PF / INACTIVE at pf_retrans / Path.Max.Retrans)'), f: 'errorCount', scale: 1 },
  ] as const;
  const pathSampleAge = pathGauge('sctp_path_rtt_sample_age_seconds', 'age of the last RTT sample (DATA or HEARTBEAT-ACK) of each path: the age of sctp_path_srtt_seconds');
  const linkGauge = (name: string, help: string, extra: string[] = []) => new Gauge({ name, help, labelNames: ['link', ...extra], ...reg });
  const linkUp = linkGauge('sctp_link_up', '1 when the named link has an ESTABLISHED association with an ACTIVE path, else 0 (also when it has no association)');
  const linkAssocs = linkGauge('sctp_link_associations', 'associations matching the named link, any state');
  const linkPaths = linkGauge('sctp_link_paths', 'paths of the named link\'s associations by state', ['state']);
  const linkMinActive = linkGauge('sctp_link_min_active_paths', 'ACTIVE paths the links file expects for the link (min-active)');
  const linkLocal = linkGauge('sctp_link_local_addresses', 'fewest local addresses of any association of the link (0 without an association)');
  const linkSingle = linkGauge('sctp_link_locally_single_homed', '1 when an association of the link is locally single-homed');
  const linkPrimary = linkGauge('sctp_link_primary_not_active', '1 when an association of the link runs off its primary path');
  const linkTx = linkGauge('sctp_link_tx_queue_bytes', 'bytes queued for sending by the link\'s associations');
  const linkRx = linkGauge('sctp_link_rx_queue_bytes', 'bytes received, not yet read, by the link\'s associations');
  const linkRto = linkGauge('sctp_link_max_rto_seconds', 'largest current RTO of any path of the link (0 without an association)');
  const linkRtx = new Counter({ name: 'sctp_link_retransmitted_chunks_total', help: 'DATA chunks retransmitted by the link\'s current associations (resets when they are replaced)', labelNames: ['link'], ...reg });
  const linkEvents = new Counter({ name: 'sctp_link_events_total', help: 'events of the link\'s associations by type (path.state: failovers; path.rtx_timeout: T3 timeouts)', labelNames: ['link', 'type'], ...reg });
  let assocLinks = new Map<number, string>();
  const dropped = new Gauge({ name: 'sctpdiag_series_dropped', help: 'per-association or per-path series left out by the cardinality limits; kind="snmp": SNMP fields whose metric name is invalid or taken', labelNames: ['kind'], ...reg });
  const events = new Counter({ name: 'sctp_events_total', help: 'SCTP events seen by the live pipeline, by type and source (bpf or procfs)', labelNames: ['type', 'source'], ...reg });
  const chunkHelp = (what: string, procfs: string) => `${what} chunks sent (direction="out") or received ("in") by their first cause (RFC 9260 3.3.10: user_abort, protocol_violation, … none, other); bpf only (${procfs})`;
  const aborts = new Counter({ name: 'sctp_aborts_total', help: chunkHelp('ABORT', 'procfs: sctp_snmp_aborteds_total counts aborted associations'), labelNames: ['direction', 'cause'], ...reg });
  const errors = new Counter({ name: 'sctp_errors_total', help: chunkHelp('ERROR', 'procfs has no count'), labelNames: ['direction', 'cause'], ...reg });
  const ootb = new Counter({ name: 'sctp_ootb_packets_total', help: 'out-of-the-blue packets (no association for them) seen by bpf (procfs: sctp_snmp_out_of_blues_total)', ...reg });
  const lost = new Counter({ name: 'sctpdiag_probe_lost_events_total', help: 'events the kernel or bpftrace dropped', ...reg });
  // one series per event type (bounded: EVENT_TYPES × one source × SOURCE_REASONS)
  const source = new Gauge({
    name: 'sctpdiag_event_source_info',
    help: 'where each event type comes from now: source bpf, procfs or none, and why (reason: attached, starting, no-btf, no-headers, refused, ...)',
    labelNames: ['type', 'source', 'reason'],
    ...reg,
  });
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
    for (const g of [associations, paths, endpoints, assocPaths, assocActive, assocsByPaths, dropped, source, assocLocal, assocSingle, assocPrimary, assocTx, assocRx]) g.reset();
    for (const g of [linkUp, linkAssocs, linkPaths, linkMinActive, linkLocal, linkSingle, linkPrimary, linkTx, linkRx, linkRto]) g.reset();
    assocRtx.reset();
    linkRtx.reset();
    linkEvents.reset();
    rto?.reset();
    for (const x of pathFigures) x.g?.reset();
    pathSampleAge?.reset();
    const now = Date.now();
    for (const m of snmp.values()) m?.reset();
    events.reset();
    lost.reset();
    aborts.reset();
    errors.reset();
    ootb.reset();
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
    const links = new Map<string, LinkTotals>();
    for (const l of opts.links) links.set(l.name, { spec: l, up: false, assocs: 0, paths: new Map(), local: null, single: false, primary: false, tx: 0, rx: 0, rto: 0, rtx: 0 });
    const nextAssocLinks = new Map<number, string>();
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
        const link = opts.links.length > 0 ? linkOf(opts.links, a) : null;
        const single = a.findings.some((f) => f.code === 'locally-single-homed');
        const primaryOff = a.findings.some((f) => f.code === 'primary-not-active');
        const lt = link ? links.get(link.name) : undefined;
        if (lt) {
          if (a.id !== 0) nextAssocLinks.set(a.id, lt.spec.name);
          lt.assocs++;
          if (linkAssocUp(a)) lt.up = true;
          for (const p of a.paths) lt.paths.set(p.state, (lt.paths.get(p.state) ?? 0) + 1);
          lt.local = Math.min(lt.local ?? Infinity, a.localAddresses.length);
          lt.single ||= single;
          lt.primary ||= primaryOff;
          lt.tx += a.txQueue;
          lt.rx += a.rxQueue;
          lt.rtx += Math.max(0, a.retransmittedChunks);
          for (const p of a.paths) lt.rto = Math.max(lt.rto, p.rtoMs / 1000);
        }
        const al = { ...nsl, assoc_id: String(a.id), local_port: String(a.localPort), peer_port: String(a.peerPort), link: link?.name ?? '' };
        if (a.id !== 0 && assocBudget > 0) {
          assocBudget--;
          assocPaths.set(al, a.paths.length);
          assocActive.set(al, active);
          assocLocal.set(al, a.localAddresses.length);
          assocSingle.set(al, single ? 1 : 0);
          assocPrimary.set(al, primaryOff ? 1 : 0);
          assocTx.set(al, a.txQueue);
          assocRx.set(al, a.rxQueue);
          assocRtx.inc(al, Math.max(0, a.retransmittedChunks));
        } else if (a.id !== 0 && opts.maxAssociations > 0) droppedAssocs++;
        if (rto && a.id !== 0) {
          const roles = pathRoles(a.paths);
          a.paths.forEach((p, i) => {
            if (pathBudget > 0) {
              pathBudget--;
              rto.set({ ...al, path: roles[i]! }, p.rtoMs / 1000);
              // the probes watch the exporter's own netns only
              const f = ev && !opts.netnsLabel ? ev.figures.figures(a.id, p.address, now) : null;
              if (f) {
                for (const x of pathFigures) if (f[x.f]) x.g?.set({ ...al, path: roles[i]! }, f[x.f]!.value * x.scale);
                if (f.srttMs) pathSampleAge?.set({ ...al, path: roles[i]! }, f.srttMs.ageMs / 1000);
              }
            } else droppedPaths++;
          });
        }
      }
      for (const [name, value] of Object.entries(s.snmp)) {
        const m = snmpMetric(name);
        if (!m) droppedSnmp++;
        else if (m instanceof Counter) m.inc(nsl, Math.max(0, value));
        else m.set(nsl, value);
      }
    }
    for (const [name, lt] of links) {
      const link = { link: name };
      linkUp.set(link, lt.up ? 1 : 0);
      linkAssocs.set(link, lt.assocs);
      for (const st of PATH_STATE_NAMES) linkPaths.set({ link: name, state: st }, lt.paths.get(st) ?? 0);
      linkMinActive.set(link, lt.spec.minActive);
      linkLocal.set(link, lt.local ?? 0);
      linkSingle.set(link, lt.single ? 1 : 0);
      linkPrimary.set(link, lt.primary ? 1 : 0);
      linkTx.set(link, lt.tx);
      linkRx.set(link, lt.rx);
      linkRto.set(link, lt.rto);
      linkRtx.inc(link, lt.rtx);
      for (const type of LINK_EVENT_TYPES) linkEvents.inc({ link: name, type }, ev?.byLinkType.get(`${name}\0${type}`) ?? 0);
    }
    assocLinks = nextAssocLinks;
    dropped.set({ kind: 'association' }, droppedAssocs);
    if (rto) dropped.set({ kind: 'path' }, droppedPaths);
    if (droppedSnmp) dropped.set({ kind: 'snmp' }, droppedSnmp);
    if (ev) {
      for (const e of ev.entries()) events.inc({ type: e.type, source: e.source }, e.count);
      lost.inc(ev.lostEvents);
      // zero for the usual ones from the start: rate() and increase() work from the first ABORT
      for (const d of ['in', 'out']) for (const c of ['user_abort', 'protocol_violation', 'none']) aborts.inc({ direction: d, cause: c }, 0);
      for (const [k, n] of ev.aborts) aborts.inc(chunkLabels(k), n);
      for (const [k, n] of ev.errors) errors.inc(chunkLabels(k), n);
      ootb.inc(ev.ootb);
      for (const t of ev.types) source.set({ type: t.type, source: t.source, reason: t.reason }, 1);
    }
  }

  return { registry, update, linkOfAssoc: (id) => assocLinks.get(id) ?? null };
}

interface LinkTotals {
  spec: LinkSpec;
  up: boolean;
  assocs: number;
  paths: Map<string, number>;
  local: number | null;
  single: boolean;
  primary: boolean;
  tx: number;
  rx: number;
  rto: number;
  rtx: number;
}

/** Which link an event belongs to: its association's in the last reading, else matched on its ports and path. */
export function eventLinkResolver(model: MetricsModel, links: readonly LinkSpec[]): ((e: SctpEvent) => string | null) | null {
  if (links.length === 0) return null;
  return (e) => (e.assoc ? (model.linkOfAssoc(e.assoc.id) ?? eventLink(links, e)) : null);
}
