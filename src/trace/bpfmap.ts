/**
 * bpftrace records → typed events. The probes stamp CLOCK_MONOTONIC ns (bpf nsecs), which process.hrtime
 * reads too, so kernel time converts exactly to wall clock. Addresses arrive as (family, IPv4 word, four IPv6
 * words) in host byte order, decoded here (never with ntop in the probe).
 */
import { endianness } from 'node:os';
import { AF_INET, AF_INET6, ASSOC_CHANGES, TRANSPORT_CMDS, TRANSPORT_ERRORS, pathStateName } from '../kernel/enums.js';
import { jiffiesToMs } from '../kernel/hz.js';
import { CHUNK_ABORT, causeOf, chunkTypeName } from '../kernel/causes.js';
import { formatIPv6 } from '../model/addr.js';
import { pathStateSeverity } from '../model/diff.js';
import { EVENT_SCHEMA_VERSION, type EventSeverity, type EventType, type SctpEvent } from '../events/types.js';
import { parseProbeLine, type BpfRecord } from './bpfjson.js';
import { ChunkJoiner } from './probes.js';

export interface Clock {
  /** wall clock, ms since the epoch */
  wallMs(): number;
  /** CLOCK_MONOTONIC, ns (what bpf `nsecs` reads) */
  monoNs(): bigint;
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoNs: () => process.hrtime.bigint(),
};

const LE = endianness() === 'LE';
/** a kernel stamp as the probes print it (%lu nsecs) */
const TS = /^\d{1,20}$/;

function wordBytes(w: number): number[] {
  const b = [w & 255, (w >>> 8) & 255, (w >>> 16) & 255, (w >>> 24) & 255];
  return LE ? b : b.reverse();
}

const v4Cache = new Map<number, string>();

/** Decode an address printed as fam / v4 word / 4 IPv6 words (host order). null: none (family 0). */
export function decodeAddr(fam: number, v4: number, w: readonly number[]): string | null {
  if (fam === AF_INET) {
    let a = v4Cache.get(v4);
    if (a === undefined) {
      a = wordBytes(v4).join('.');
      if (v4Cache.size > 65536) v4Cache.clear();
      v4Cache.set(v4, a);
    }
    return a;
  }
  if (fam === AF_INET6 && w.length === 4) {
    const bytes = w.flatMap(wordBytes);
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
    return formatIPv6(groups);
  }
  return null;
}

interface PathAcc {
  assocId: number;
  addr: string | null;
  m: Record<string, number>;
}

interface MetricsAcc {
  /** by "id|address" */
  paths: Map<string, PathAcc>;
  /** by the map key as bpftrace prints it ("id,fam,v4,w0,w1,w2,w3", the same in all five maps): decoded once; null = unusable */
  keys: Map<string, PathAcc | null>;
  rwnd: Map<number, number>;
}

/** path-metrics.bt's maps (per SACK) → metric names */
const MAP_METRIC: Record<string, string> = {
  '@sctpdiag_m_cwnd': 'cwndBytes',
  '@sctpdiag_m_ssthresh': 'ssthreshBytes',
  '@sctpdiag_m_flight': 'flightBytes',
  '@sctpdiag_m_pmtu': 'pmtuBytes',
  '@sctpdiag_m_sacks': 'sacks',
};

/** path-rtt.bt's maps (per RTT sample) → metric names; srtt/rttvar/rto are jiffies until flushed, `at` the sample's stamp */
const MAP_FIGURE: Record<string, string> = {
  '@sctpdiag_f_srtt': 'srttMs',
  '@sctpdiag_f_rttvar': 'rttvarMs',
  '@sctpdiag_f_rto': 'rtoMs',
  '@sctpdiag_f_cwnd': 'cwndBytes',
  '@sctpdiag_f_ssthresh': 'ssthreshBytes',
  '@sctpdiag_f_flight': 'flightBytes',
  '@sctpdiag_f_pmtu': 'pmtuBytes',
  '@sctpdiag_f_errs': 'errorCount',
  '@sctpdiag_f_maxrtx': 'maxPathRetrans',
  '@sctpdiag_f_at': 'at',
  '@sctpdiag_f_n': 'rttSamples',
};
const FIGURE_JIFFIES = ['srttMs', 'rttvarMs', 'rtoMs'] as const;

const emptyAcc = (): MetricsAcc => ({ paths: new Map(), keys: new Map(), rwnd: new Map() });

export interface MapperOptions {
  netns: string | null;
  /** CONFIG_HZ, to turn jiffies into ms */
  hz: number;
  clock?: Clock;
}

/** One record → zero or more events; stateful only for map prints (several records closed by `metrics_end`). */
export class BpfEventMapper {
  readonly stats = { malformed: 0, unknownTypes: 0, foreignPrintf: 0, lostEvents: 0 };
  /** an old bpftrace's printfs come in chunks (probes.ts splitPrintfs) */
  private chunks = new ChunkJoiner();
  attachedProbes: number | null = null;
  private acc: MetricsAcc = emptyAcc();
  /** path-rtt.bt's figures, flushed by their own `figures_end` */
  private figures: MetricsAcc = emptyAcc();
  private clock: Clock;
  /** the last chunk sent (address, stamp): one appended again after a full packet was flushed is one */
  private lastOut = { ck: '', ts: 0n };

  constructor(private o: MapperOptions) {
    this.clock = o.clock ?? systemClock;
  }

  setHz(hz: number): void {
    this.o = { ...this.o, hz };
  }

  private offsetMs = 0;
  private offsetAt = -Infinity;

  /** Kernel monotonic ns → ISO time (now, if the stamp is missing or implausible). */
  timeOf(ts: string | undefined): string {
    const wall = this.clock.wallMs();
    // wall - monotonic, refreshed every second (cheap per event; follows clock steps)
    if (wall - this.offsetAt > 1000 || wall < this.offsetAt) {
      this.offsetMs = wall - Number(this.clock.monoNs() / 1000n) / 1000;
      this.offsetAt = wall;
    }
    if (ts === undefined || !/^\d{1,17}$/.test(ts)) return new Date(wall).toISOString();
    const at = this.offsetMs + Number(ts) / 1e6;
    const age = wall - at;
    if (!(age >= -1000 && age < 3_600_000)) return new Date(wall).toISOString();
    return new Date(Math.min(at, wall)).toISOString();
  }

  private ev(type: EventType, severity: EventSeverity, f: Record<string, string>, extra: Partial<SctpEvent>): SctpEvent {
    const e: SctpEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      time: this.timeOf(f.ts),
      type,
      source: 'bpf',
      severity,
      netns: this.o.netns,
    };
    if (f.ts !== undefined && TS.test(f.ts)) e.kernelNs = f.ts;
    if (f.asoc !== undefined) {
      e.assoc = { id: num(f.asoc) };
      if (f.lport !== undefined) e.assoc.localPort = num(f.lport);
      if (f.rport !== undefined) e.assoc.peerPort = num(f.rport);
    }
    return Object.assign(e, extra);
  }

  map(r: BpfRecord): SctpEvent[] {
    switch (r.kind) {
      case 'malformed':
        this.stats.malformed++;
        return [];
      case 'unknown':
        this.stats.unknownTypes++;
        return [];
      case 'attached':
        this.attachedProbes = r.probes;
        return [];
      case 'time':
        return [];
      case 'lost':
        this.stats.lostEvents += r.count;
        return [
          this.ev('probe.lost_events', 'warn', {}, {
            reason: `bpftrace lost ${r.count} event(s) (perf buffer full)`,
            metrics: { count: r.count, total: this.stats.lostEvents },
          }),
        ];
      case 'message':
        // bpftrace's errorf/warnf/runtime_error: said, not dropped; a message, not a change of source
        return [
          this.ev('source.changed', r.level, {}, { from: null, to: null, reason: `bpftrace ${r.type}: ${r.text}` }),
        ];
      case 'map':
        this.addMap(r.name, r.entries);
        return [];
      case 'printf':
        return this.printf(r.text);
    }
  }

  private addMap(name: string, entries: Record<string, unknown>): void {
    if (name === '@sctpdiag_m_rwnd') {
      for (const [k, v] of Object.entries(entries)) if (typeof v === 'number' && /^\d+$/.test(k)) this.acc.rwnd.set(Number(k), v);
      return;
    }
    const metric = MAP_METRIC[name];
    if (metric) addKeyed(this.acc, metric, entries);
    const figure = MAP_FIGURE[name];
    if (figure) addKeyed(this.figures, figure, entries);
  }

  /**
   * path-rtt.bt's print: one path.metrics event per path, stamped at its last
   * RTT sample (time, kernelNs), so a consumer knows how old each figure is.
   */
  private flushFigures(f: Record<string, string>): SctpEvent[] {
    const out: SctpEvent[] = [];
    const end = f.ts !== undefined && TS.test(f.ts) ? BigInt(f.ts) : null;
    for (const p of this.figures.paths.values()) {
      const { at, ...metrics } = p.m;
      for (const k of FIGURE_JIFFIES) if (metrics[k] !== undefined) metrics[k] = jiffiesToMs(metrics[k]!, this.o.hz);
      // the sample's stamp from the print's exact one and the age (a map value past 2^53 ns, 104 days of
      // uptime, arrives rounded by JSON; the age stays exact). Negative: bpftrace reads a map after the
      // interval's printf, so a sample can be newer than the print
      const ageNs = end !== null && at !== undefined ? Number(end) - at : NaN;
      const ts = ageNs > -60e9 && ageNs < 3.6e12 ? String(end! - BigInt(Math.round(ageNs))) : undefined;
      out.push(this.metricsEvent(this.timeOf(ts), ts, p, metrics));
    }
    this.figures = emptyAcc();
    return out;
  }

  private flushMetrics(f: Record<string, string>): SctpEvent[] {
    const out: SctpEvent[] = [];
    // one print: one time stamp for all its events
    const time = this.timeOf(f.ts);
    const kernelNs = f.ts !== undefined && TS.test(f.ts) ? f.ts : undefined;
    for (const p of this.acc.paths.values()) {
      // the accumulator is replaced below, so its metrics object is handed over, not copied
      const metrics = p.m;
      const rwnd = this.acc.rwnd.get(p.assocId);
      if (rwnd !== undefined) metrics.peerRwndBytes = rwnd;
      out.push(this.metricsEvent(time, kernelNs, p, metrics));
    }
    this.acc = emptyAcc();
    return out;
  }

  private metricsEvent(time: string, kernelNs: string | undefined, p: PathAcc, metrics: Record<string, number>): SctpEvent {
    const e: SctpEvent = { schemaVersion: EVENT_SCHEMA_VERSION, time, type: 'path.metrics', source: 'bpf', severity: 'info', netns: this.o.netns };
    if (kernelNs !== undefined) e.kernelNs = kernelNs;
    e.assoc = { id: p.assocId };
    if (p.addr) e.path = p.addr;
    e.metrics = metrics;
    return e;
  }

  /** an ABORT or ERROR chunk, received (out=0) or sent (out=1), with its first cause */
  private chunk(f: Record<string, string>, path: string | null): SctpEvent[] {
    const out = f.out === '1';
    if (out && f.ck !== undefined && f.ts !== undefined && TS.test(f.ts)) {
      const ts = BigInt(f.ts);
      const again = f.ck === this.lastOut.ck && ts - this.lastOut.ts < 10_000_000n;
      this.lastOut = { ck: f.ck, ts };
      if (again) return [];
    }
    const type = num(f.type);
    const abort = type === CHUNK_ABORT;
    const c = causeOf(num(f.len) >= 8 ? num(f.cause) : null);
    // T bit: the sender had no association and reflected our tag (RFC 9260 §8.4)
    const reflected = abort && (num(f.flags) & 1) === 1;
    const what = `${abort ? 'ABORT' : 'ERROR'} ${out ? 'sent to' : 'received from'} ${path ?? '?'}: ${c.name}${c.label === 'none' ? '' : ` (cause ${c.code})`}${reflected ? ', T bit: answer to a packet with no association' : ''}`;
    return [
      this.ev(abort ? 'chunk.abort' : 'chunk.error', abort ? 'fail' : 'warn', f, {
        path: path ?? undefined,
        direction: out ? 'out' : 'in',
        cause: c.label,
        reason: what,
        metrics: { chunkType: type, ...(c.label === 'none' ? {} : { causeCode: c.code }) },
      }),
    ];
  }

  private printf(chunk: string): SctpEvent[] {
    const text = this.chunks.add(chunk);
    if (text === null) return [];
    const line = parseProbeLine(text);
    if (!line) {
      this.stats.foreignPrintf++;
      return [];
    }
    const f = line.fields;
    const addr = (prefix = '') => decodeAddr(num(f[`${prefix}fam`]), num(f[`${prefix}v4`]), words(f[`${prefix}w`]));
    switch (line.tag) {
      case 'path': {
        const from = pathStateName(num(f.from));
        const to = pathStateName(num(f.to));
        const cmd = TRANSPORT_CMDS[num(f.cmd)] ?? `cmd ${f.cmd}`;
        const err = TRANSPORT_ERRORS[num(f.err)] ?? `error ${f.err}`;
        const path = addr();
        return [
          this.ev('path.state', pathStateSeverity(to, true), f, {
            path: path ?? undefined,
            from,
            to,
            activePath: addr('a'),
            reason: `${cmd} (${err})`,
          }),
        ];
      }
      case 'primary': {
        const from = addr('o');
        // the first peer of a new association becomes primary: not a change
        if (from === null) return [];
        const to = addr();
        return [this.ev('path.primary', 'info', f, { path: to ?? undefined, from, to, reason: 'primary path changed' })];
      }
      case 'peer_add':
      case 'peer_rm': {
        // during the handshake (state < ESTABLISHED) every peer is "added": not news
        if (num(f.st) < 3) return [];
        const a = addr();
        const added = line.tag === 'peer_add';
        return [
          this.ev(added ? 'peer.added' : 'peer.removed', 'info', f, {
            path: a ?? undefined,
            ...(added ? { to: a } : { from: a }),
            reason: added ? 'peer address added' : 'peer address removed',
          }),
        ];
      }
      case 'asconf':
        return [this.ev('asconf.received', 'info', f, { reason: f.kind === '1' ? 'ASCONF-ACK processed' : 'ASCONF processed' })];
      case 'assoc': {
        const st = num(f.state);
        const name = ASSOC_CHANGES[st] ?? `state ${st}`;
        const path = addr() ?? undefined;
        const metrics = { outStreams: num(f.outs), inStreams: num(f.ins), error: num(f.error) };
        if (name === 'COMM_UP') return [this.ev('assoc.up', 'info', f, { path, to: name, reason: name, metrics })];
        if (name === 'RESTART') return [this.ev('assoc.restart', 'warn', f, { path, to: name, reason: 'peer restarted (RESTART)', metrics })];
        const sev: EventSeverity = name === 'SHUTDOWN_COMP' ? 'info' : 'fail';
        return [this.ev('assoc.down', sev, f, { path, to: name, reason: name, metrics })];
      }
      case 'rtx':
        return [
          this.ev('path.rtx_timeout', 'warn', f, {
            path: addr() ?? undefined,
            reason: 'T3-rtx timer expired',
            metrics: { rtoMs: jiffiesToMs(num(f.rto), this.o.hz), errorCount: num(f.errs) },
          }),
        ];
      case 'hb': {
        const ack = f.kind === '1';
        const rttNs = num(f.rtt);
        return [
          this.ev('path.heartbeat', 'info', f, {
            path: addr() ?? undefined,
            reason: ack ? 'HEARTBEAT-ACK received' : 'HEARTBEAT sent',
            ...(ack && rttNs > 0 ? { metrics: { rttMs: Math.round(rttNs / 1e3) / 1e3 } } : {}),
          }),
        ];
      }
      case 'chunk':
        return this.chunk(f, addr());
      case 'ootb': {
        const type = num(f.type);
        const src = addr();
        const dst = addr('d');
        const e = this.ev('packet.ootb', 'warn', f, {
          path: src ?? undefined,
          reason: `${chunkTypeName(type)} from ${src ?? '?'}${dst ? ` to ${dst}` : ''} matches no association`,
          metrics: { chunkType: type },
        });
        // ports as the packet carries them (network order): ours is its destination
        e.assoc = { id: 0, localPort: be16(num(f.dport)), peerPort: be16(num(f.sport)) };
        return [e];
      }
      case 'metrics_end':
        return this.flushMetrics(f);
      case 'figures_end':
        return this.flushFigures(f);
      default:
        this.stats.foreignPrintf++;
        return [];
    }
  }
}

/** A per-path map's entries (keyed "id,fam,v4,w0,w1,w2,w3") into an accumulator; each key decoded once per print. */
function addKeyed(acc: MetricsAcc, metric: string, entries: Record<string, unknown>): void {
  // up to 4096 keys per map (bpftrace's default): no per-entry arrays
  for (const k in entries) {
    const v = entries[k];
    if (typeof v !== 'number') continue;
    let p = acc.keys.get(k);
    if (p === undefined) {
      const parts = k.split(',').map((x) => Number(x.trim()));
      if (parts.length !== 7 || parts.some((x) => !Number.isFinite(x))) p = null;
      else {
        const [id, fam, v4, w0, w1, w2, w3] = parts as [number, number, number, number, number, number, number];
        const addr = decodeAddr(fam, v4, [w0, w1, w2, w3]);
        const key = `${id}|${addr}`;
        p = acc.paths.get(key) ?? null;
        if (!p) acc.paths.set(key, (p = { assocId: id, addr, m: {} }));
      }
      acc.keys.set(k, p);
    }
    if (p) p.m[metric] = v;
  }
}

/** a 16-bit field printed from network order as a host-order number */
function be16(v: number): number {
  return LE ? ((v & 0xff) << 8) | ((v >>> 8) & 0xff) : v & 0xffff;
}

function num(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

function words(s: string | undefined): number[] {
  return (s ?? '').split(',').map((x) => num(x));
}
