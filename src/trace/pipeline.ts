/**
 * The event pipeline of `trace`, `top` and `metrics`: bpftrace probes when they attach, the procfs snapshot
 * diff for the rest; events are filtered, enriched from the latest snapshot and published on the bus.
 */
import { readlink } from 'node:fs/promises';
import { DEFAULT_EVENT_TYPES, EVENT_SCHEMA_VERSION, type AssocRef, type EventBus, type EventType, type SctpEvent, type SourceReason } from '../events/types.js';
import { assocRef, diffSnapshots, PROCFS_EVENT_TYPES } from '../model/diff.js';
import type { Association, Snapshot } from '../model/snapshot.js';
import { readSnapshot, type ReadOptions } from '../procfs/read.js';
import { nextReadMs, type ReadCost } from '../kernel/pacing.js';
import { ASSUMED_HZ } from '../kernel/hz.js';
import { findSocketOwnersSliced, type Owner } from '../procfs/owners.js';
import { parseBpftraceLine } from './bpfjson.js';
import { BpfEventMapper, type Clock } from './bpfmap.js';
import { detectCapabilities, failingProbe, layoutProgram, loadProbeFiles, procfsWhy, type Capabilities, type ProbeFile } from './probes.js';
import { BpftraceRunner, mapKeysFor, type RunnerOptions } from './runner.js';
import { eventSources, summariseSources, type SourceState, type TypeSource } from './sources.js';

export interface TraceFilter {
  assocId?: number;
  port?: number;
  peer?: string;
  /** event types wanted (default: all but path.heartbeat) */
  types?: ReadonlySet<EventType>;
}

export interface PipelineStatus {
  source: 'bpf' | 'procfs' | 'degraded';
  probesAttached: number;
  /** probe files running in bpftrace */
  probes: string[];
  /** probe files that could not run, with what was missing */
  unavailable: { name: string; missing: string[]; reason: SourceReason }[];
  /** why bpf is not (fully) used */
  reason: string | null;
  bpftracePid: number | null;
  restarts: number;
  lostEvents: number;
  malformedLines: number;
  procfsTypes: EventType[];
  /** per event type: bpf, procfs or none, and why */
  types: TypeSource[];
}

/** seconds between the probes' prints of their per-path maps (path.metrics), unless a caller says otherwise */
export const METRICS_PRINT_S = 5;

export interface PipelineOptions {
  procRoot: string;
  netns: string | null;
  noBpf?: boolean;
  /** procfs polling interval, ms */
  intervalMs: number;
  bus: EventBus;
  filter?: TraceFilter;
  hz?: number;
  /** seconds between in-kernel metric map prints */
  metricsIntervalS?: number;
  /** the caller reads procfs itself (top, the exporter) and hands every snapshot to push(); the pipeline reads nothing */
  pushed?: boolean;
  /** the procfs reader (tests: a slow or costly read) */
  read?: (o: ReadOptions) => Promise<Snapshot>;
  /** test hooks */
  capabilities?: Capabilities;
  probeFiles?: ProbeFile[];
  runner?: Partial<RunnerOptions>;
  clock?: Clock;
}

export interface EventPipeline {
  /** a snapshot the caller read (pushed mode): diffed against the previous one */
  push(s: Snapshot): void;
  stop(): Promise<void>;
  status(): PipelineStatus;
  /** resolves once the first snapshot was read and bpf (if any) was started */
  ready: Promise<void>;
}

/** The netns inode of this process (what the probes compare asoc->base.net->ns.inum with). */
async function currentNetnsInode(): Promise<number> {
  try {
    const m = /^net:\[(\d+)\]$/.exec(await readlink('/proc/self/ns/net'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function matchEvent(e: SctpEvent, f: TraceFilter, snap: Snapshot | null): boolean {
  // source changes and lost events are about the pipeline itself: always shown, whatever
  // --events says, so an operator always learns of a fallback to procfs or of lost events
  if (e.type === 'source.changed' || e.type === 'probe.lost_events') return true;
  if (f.types && !f.types.has(e.type)) return false;
  if (f.assocId !== undefined && e.assoc?.id !== f.assocId) return false;
  if (f.port !== undefined && e.assoc?.localPort !== f.port && e.assoc?.peerPort !== f.port) return false;
  if (f.peer !== undefined && e.path !== f.peer && e.from !== f.peer && e.to !== f.peer) {
    const a = e.assoc ? snap?.associations.find((x) => x.id === e.assoc!.id && x.id !== 0) : undefined;
    if (!a || !a.paths.some((p) => p.address === f.peer)) return false;
  }
  return true;
}

/** The pipeline, with flow control of its bpftrace input (BpftraceRunner.pause: trace's stdout is behind). */
export function startEventPipeline(o: PipelineOptions): EventPipeline & Pick<BpftraceRunner, 'pause' | 'resume'> {
  const filter = o.filter ?? {};
  const wanted = filter.types ?? new Set(DEFAULT_EVENT_TYPES);
  const effective: TraceFilter = { ...filter, types: wanted };
  const clockNow = () => new Date(o.clock ? o.clock.wallMs() : Date.now()).toISOString();
  let snap: Snapshot | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let runner: BpftraceRunner | null = null;
  let mapper: BpfEventMapper | null = null;
  /** the latest snapshot's associations by id (an event is enriched in O(1), not by a scan of 10k) */
  let byId = new Map<number, Association>();
  /** recently seen associations by id: enrich events about associations already gone */
  const recent = new Map<number, Association>();
  /** the next procfs read is due this long after the last one ended (kernel/pacing.ts) */
  let pollMs = o.intervalMs;
  // procfsTypes and types are computed when asked (status())
  const st: Omit<PipelineStatus, 'procfsTypes' | 'types'> = {
    source: 'procfs',
    probesAttached: 0,
    probes: [],
    unavailable: [],
    reason: null,
    bpftracePid: null,
    restarts: 0,
    lostEvents: 0,
    malformedLines: 0,
  };
  /** what eventSources() needs beyond st (updated as bpftrace starts, attaches, exits) */
  const src: Omit<SourceState, 'unavailable' | 'running' | 'wanted'> = {
    files: o.probeFiles ?? [],
    procfsTypes: PROCFS_EVENT_TYPES,
    // until the kernel's probes are known
    off: { reason: 'starting', detail: 'checking which probes the kernel offers' },
    bpf: 'starting',
  };
  const sources = (): TypeSource[] =>
    eventSources({ ...src, unavailable: st.unavailable, running: st.probes, wanted, elapsedS: startedAt ? (Date.now() - startedAt) / 1000 : 0 });
  /** event types the running probes cover (procfs derives the others) */
  let bpfTypes = new Set<EventType>();
  let bpfLive = false;
  /** when bpftrace was first started (for "compiling … N s so far") */
  let startedAt = 0;
  let progress: NodeJS.Timeout | null = null;
  /** input paused by the consumer (applies to a runner started later, too) */
  let paused = false;

  // owners (a walk of every /proc/PID/fd) are looked up only for sockets not seen before
  const ownerCache = new Map<number, Owner[]>();
  async function readWithOwners(cost: ReadCost): Promise<Snapshot> {
    const s = await (o.read ?? readSnapshot)({ procRoot: o.procRoot, netns: o.netns, hz: o.hz, owners: false, cost });
    const fresh = new Set(s.associations.map((a) => a.inode).filter((i) => !ownerCache.has(i)));
    if (fresh.size && o.procRoot === '/proc') {
      // in slices: events keep flowing while a 10k scan runs
      const found = await findSocketOwnersSliced(o.procRoot, fresh).catch(() => new Map<number, Owner[]>());
      for (const i of fresh) ownerCache.set(i, found.get(i) ?? []);
    }
    const live = new Set(s.associations.map((a) => a.inode));
    for (const k of ownerCache.keys()) if (!live.has(k)) ownerCache.delete(k);
    for (const a of s.associations) a.owners = ownerCache.get(a.inode) ?? [];
    return s;
  }

  function publish(e: SctpEvent): void {
    if (stopped) return;
    if (e.assoc && e.assoc.id !== 0) {
      const a = byId.get(e.assoc.id) ?? recent.get(e.assoc.id);
      if (a) e.assoc = withKernelFields(assocRef(a), e.assoc);
    } else if (e.assoc && e.path && snap) {
      // COMM_UP on the accepting side comes before the id is assigned
      const a = snap.associations.find(
        (x) => x.id !== 0 && x.localPort === e.assoc!.localPort && x.peerPort === e.assoc!.peerPort && x.paths.some((p) => p.address === e.path),
      );
      if (a) e.assoc = assocRef(a);
      else if (e.type === 'packet.ootb') ootbHint(e, snap);
    }
    if (!matchEvent(e, effective, snap)) return;
    o.bus.publish(e);
  }

  function sourceEvent(from: string | null, to: string | null, reason: string, severity: SctpEvent['severity'] = 'info', withTypes = false): void {
    const types = withTypes ? sources() : null;
    publish({
      schemaVersion: EVENT_SCHEMA_VERSION,
      time: clockNow(),
      type: 'source.changed',
      source: 'sctpdiag',
      severity,
      netns: o.netns,
      from,
      to,
      reason: types ? `${reason}; sources: ${summariseSources(types)}` : reason,
      ...(types ? { sources: types.map(({ type, source, reason }) => ({ type, source, reason })) } : {}),
    });
  }

  function procfsTypes(): Set<EventType> {
    return new Set(PROCFS_EVENT_TYPES.filter((t) => !(bpfLive && bpfTypes.has(t))));
  }

  async function poll(): Promise<void> {
    let next: Snapshot;
    try {
      // what this read costs the kernel paces the next one
      const cost: ReadCost = { kernelMs: 0, associations: 0 };
      next = await readWithOwners(cost);
      pollMs = nextReadMs(o.intervalMs, cost, pollMs);
    } catch (e) {
      if (!stopped) sourceEvent('procfs', 'procfs', `procfs read failed: ${(e as Error).message}`, 'warn');
      return;
    }
    await accept(next);
  }

  /** a new snapshot: enrichment maps, then the procfs-derived events against the previous one */
  async function accept(next: Snapshot): Promise<void> {
    if (stopped) return;
    const ids = new Map<number, Association>();
    for (const a of next.associations) if (a.id !== 0) ids.set(a.id, a);
    for (const [id, a] of ids) recent.set(id, a);
    if (recent.size > 10_000) for (const k of [...recent.keys()].slice(0, recent.size - 10_000)) recent.delete(k);
    if (mapper) mapper.setHz(next.hz.value);
    const prev = snap;
    snap = next;
    byId = ids;
    if (prev) {
      // bpf lines read meanwhile go out first: at 10k associations the diff is tens of ms of synchronous
      // work, and at 20k events/s the kernel's perf buffer holds only ~0.2 s of events
      await new Promise<void>((r) => setImmediate(r));
      if (stopped) return;
      for (const e of diffSnapshots(prev, next, { types: procfsTypes() })) publish(e);
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      poll().finally(schedule);
    }, pollMs);
  }

  async function startBpf(): Promise<void> {
    if (o.noBpf) {
      st.reason = '--no-bpf';
      src.off = { reason: 'no-bpf', detail: '--no-bpf' };
      sourceEvent(null, 'procfs', `polling procfs every ${o.intervalMs} ms (--no-bpf)`, 'info', true);
      return;
    }
    if (o.procRoot !== '/proc') {
      st.reason = 'reading a capture (--proc-root): no live kernel to probe';
      src.off = { reason: 'capture', detail: st.reason };
      sourceEvent(null, 'procfs', st.reason, 'info', true);
      return;
    }
    const files = o.probeFiles ?? loadProbeFiles();
    src.files = files;
    const caps = o.capabilities ?? (await detectCapabilities({ files }));
    src.off = null;
    st.unavailable = caps.probes.filter((p) => !p.ok).map((p) => ({ name: p.name, missing: p.missing, reason: p.reason ?? 'probe-missing' }));
    let wantedFiles = files.filter((f) => caps.probes.find((p) => p.name === f.name)?.ok && f.events.some((e) => wanted.has(e)));
    if (caps.unavailable || !caps.bpftrace || wantedFiles.length === 0) {
      st.reason = caps.unavailable ?? (procfsWhy(st.unavailable, files, []) || 'no probe the kernel supports produces the wanted events');
      if (caps.unavailable) src.off = { reason: caps.unavailableReason ?? 'probe-missing', detail: caps.unavailable };
      sourceEvent(null, 'procfs', `bpf unavailable: ${st.reason}; polling procfs every ${o.intervalMs} ms`, 'warn', true);
      return;
    }
    if (stopped) return;
    st.probes = wantedFiles.map((f) => f.name);
    let layout = layoutProgram(wantedFiles, caps.version, caps.kprobes ?? false);
    const inum = await currentNetnsInode();
    mapper = new BpfEventMapper({ netns: o.netns, hz: o.hz ?? snap?.hz.value ?? ASSUMED_HZ, clock: o.clock });
    const m = mapper;
    const metricsS = o.metricsIntervalS ?? METRICS_PRINT_S;
    runner = new BpftraceRunner(
      {
        bpftrace: caps.bpftrace,
        program: layout.text,
        version: caps.version ?? null,
        params: [inum, metricsS],
        // per-path metric maps must hold every path (bpftrace's default is 4096 keys)
        mapKeysMax: mapKeysFor(snap ? snap.associations.reduce((n, a) => n + a.paths.length, 0) : 0),
        ...o.runner,
      },
      {
        onLine(line) {
          const r = parseBpftraceLine(line);
          if (!r) return;
          if (r.kind === 'attached') {
            st.probesAttached = r.probes;
            bpfTypes = new Set(wantedFiles.flatMap((f) => f.events));
            bpfLive = true;
            src.bpf = 'attached';
            runner?.markAttached();
            st.source = st.unavailable.length ? 'degraded' : 'bpf';
            st.reason = st.unavailable.length ? procfsWhy(st.unavailable, files, st.probes) || null : null;
            sourceEvent(st.restarts ? 'procfs' : null, 'bpf', `bpftrace attached ${r.probes} probe(s): ${st.probes.join(', ')}`, 'info', true);
          }
          for (const e of m.map(r)) publish(e);
          st.lostEvents = m.stats.lostEvents;
          st.malformedLines = m.stats.malformed;
        },
        onStart(pid) {
          st.bpftracePid = pid ?? null;
        },
        retarget(stderr) {
          // one probe file this bpftrace or kernel refuses must not take the others down
          const bad = failingProbe(stderr, layout, wantedFiles);
          if (!bad || wantedFiles.length < 2) return null;
          const why = stderr.split('\n').find((l) => /ERROR/.test(l))?.trim().slice(0, 300) ?? 'bpftrace refused it';
          st.unavailable.push({ name: bad, missing: [`bpftrace: ${why}`], reason: 'refused' });
          wantedFiles = wantedFiles.filter((f) => f.name !== bad);
          st.probes = wantedFiles.map((f) => f.name);
          layout = layoutProgram(wantedFiles, caps.version, caps.kprobes ?? false);
          return layout.text;
        },
        onMessage(line) {
          // a message, not a change of source: from/to null
          sourceEvent(null, null, `bpftrace: ${line}`, 'warn');
        },
        onExit(info) {
          bpfLive = false;
          st.bpftracePid = null;
          st.probesAttached = 0;
          st.restarts = runner?.restarts ?? 0;
          const how = info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`;
          const tail = info.stderr.split('\n').filter(Boolean).slice(-2).join(' | ');
          src.error = `${how}${tail ? `: ${tail}` : ''}`.slice(0, 300);
          if (info.delayMs === null) {
            st.source = 'procfs';
            st.reason = `bpftrace ${how} before attaching, giving up: ${tail}`;
            src.bpf = 'failed';
            sourceEvent('bpf', 'procfs', `${st.reason}; polling procfs every ${o.intervalMs} ms`, 'warn', true);
          } else {
            st.source = 'degraded';
            st.reason = `bpftrace ${how}${tail ? `: ${tail}` : ''}`;
            // a retarget (a probe file dropped) starts over at once: still starting
            src.bpf = info.attached ? 'restarting' : 'starting';
            sourceEvent('bpf', 'procfs', `${st.reason}; restarting in ${info.delayMs} ms, procfs meanwhile`, 'warn');
            st.restarts++;
          }
        },
      },
    );
    sourceEvent(
      null,
      'procfs',
      `starting bpftrace with ${st.probes.join(', ')}${st.unavailable.length ? ` (unavailable here: ${st.unavailable.map((u) => `${u.name}: ${u.missing.join(' ')}`).join('; ')})` : ''}; procfs until the probes attach`,
    );
    st.source = 'degraded';
    st.reason = 'bpftrace starting';
    startedAt = Date.now();
    if (paused) runner.pause();
    runner.start();
    // compiling takes bpftrace 20-60 s on a slow host: every 15 s until it attaches, say so
    progress = setInterval(() => {
      if (stopped || bpfLive || st.source === 'procfs') return;
      sourceEvent('procfs', 'procfs', `bpftrace still compiling and attaching the probes (${Math.round((Date.now() - startedAt) / 1000)} s); procfs meanwhile`);
    }, 15_000);
    progress.unref?.();
  }

  let pushes = Promise.resolve();
  const ready = (async () => {
    if (o.pushed) return startBpf();
    await poll();
    await startBpf();
    schedule();
  })();

  return {
    ready,
    push: (s) => {
      pushes = pushes.then(() => accept(s));
    },
    status: () => ({
      ...st,
      // bpftrace compiles for 20-60 s on a slow host: say so, with the time so far
      reason: st.reason === 'bpftrace starting' && startedAt ? `bpftrace compiling and attaching the probes (${Math.round((Date.now() - startedAt) / 1000)} s so far)` : st.reason,
      procfsTypes: [...procfsTypes()],
      types: sources(),
    }),
    pause: () => {
      paused = true;
      runner?.pause();
    },
    resume: () => {
      paused = false;
      runner?.resume();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (progress) clearInterval(progress);
      await ready.catch(() => {});
      await pushes;
      if (runner) await runner.stop();
      st.bpftracePid = null;
      st.probesAttached = 0;
    },
  };
}

/**
 * An out-of-the-blue packet with the ports of an association we have, from an
 * address that is not its peer's: something between the hosts rewrote the
 * source (NAT, conntrack, IPVS), the classic multi-homing breakage. Says so.
 */
export function ootbHint(e: SctpEvent, snap: Snapshot): void {
  const a = snap.associations.find((x) => x.id !== 0 && x.localPort === e.assoc?.localPort && x.peerPort === e.assoc?.peerPort);
  if (!a) return;
  const peers = a.paths.map((p) => p.address).join(', ');
  e.reason = `${e.reason ?? ''}; association ${a.id} has these ports with peer address(es) ${peers}: a NAT or conntrack between the hosts may rewrite the peer's source`;
}

/** The snapshot's view of an association, with what the kernel said in the event winning. */
function withKernelFields(ref: AssocRef, own: AssocRef): AssocRef {
  ref.id = own.id;
  if (own.localPort !== undefined) ref.localPort = own.localPort;
  if (own.peerPort !== undefined) ref.peerPort = own.peerPort;
  if (own.localAddresses !== undefined) ref.localAddresses = own.localAddresses;
  if (own.owners !== undefined) ref.owners = own.owners;
  return ref;
}


export type ProbeWait = { ok: true; attachMs: number; pid: number; restarts: number } | { ok: false; why: string };

/** Wait (bounded) for bpftrace to attach (drill, status --live); `progress` is told every 15 s. */
export async function waitForProbes(
  p: Pick<EventPipeline, 'ready' | 'status'>,
  o: { timeoutMs: number; progress: (seconds: number) => void; cancelled: () => boolean; unavailable: (reason: string) => string },
): Promise<ProbeWait> {
  const started = performance.now();
  await p.ready;
  let told = 0;
  for (;;) {
    const st = p.status();
    if (st.probesAttached > 0 && st.bpftracePid !== null) return { ok: true, attachMs: Math.round(performance.now() - started), pid: st.bpftracePid, restarts: st.restarts };
    if (st.source === 'procfs' && st.reason !== null) return { ok: false, why: o.unavailable(st.reason) };
    if (o.cancelled()) return { ok: false, why: 'interrupted while bpftrace attached its probes' };
    if (performance.now() - started > o.timeoutMs) return { ok: false, why: `bpftrace did not attach its probes within ${o.timeoutMs / 1000} s` };
    const s = Math.floor((performance.now() - started) / 15_000);
    if (s > told) o.progress((told = s) * 15);
    await new Promise((r) => setTimeout(r, 100));
  }
}
