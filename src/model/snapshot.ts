/**
 * The typed picture of SCTP in one network namespace at one moment, built from
 * parsed procfs rows. Pure: no I/O. Everything later (status, trace's procfs
 * fallback, top, doctor, metrics) reads this.
 */
import {
  assocStateName,
  isUpState,
  pathStateName,
  socketStateName,
  socketStyleName,
  type AssocState,
  type PathState,
  type SocketStyle,
} from '../kernel/enums.js';
import { jiffiesToMs, type Hz } from '../kernel/hz.js';
import type { Address } from './addr.js';
import type { AssocRow, EndpointRow, Owner, Parsed, ParseWarning, RemaddrRow } from './rows.js';
import type { Severity } from './severity.js';

export interface LocalAddress extends Address {
  /** the source address toward the primary path (`*` in LADDRS) */
  primarySource: boolean;
}

export interface Path extends Address {
  state: PathState;
  stateCode: number;
  /** `*` in RADDRS: the configured primary path */
  primary: boolean;
  /** most likely carrying traffic now (inferred from states; see activePathSource) */
  active: boolean;
  rtoMs: number;
  rtoJiffies: number;
  heartbeatArmed: boolean;
  /** configured limit (Path.Max.Retrans), not a counter */
  maxPathRetrans: number;
}

export type { Severity };

export type FindingCode =
  | 'locally-single-homed'
  | 'primary-not-active'
  | 'path-inactive'
  | 'path-pf'
  | 'path-unconfirmed'
  | 'retransmissions'
  | 'not-established'
  | 'no-active-path';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  /** the peer address the finding is about, if any */
  path?: string;
}

export interface Association {
  /** stable identity for diffing: the ASSOC-ID, or a composite while the id is still 0 (handshake) */
  key: string;
  id: number;
  style: SocketStyle;
  state: AssocState;
  stateCode: number;
  socketState: string;
  uid: number;
  inode: number;
  localPort: number;
  peerPort: number;
  localAddresses: LocalAddress[];
  paths: Path[];
  primaryPath: string | null;
  activePath: string | null;
  /** always "inferred" from procfs: the kernel does not print the active path */
  activePathSource: 'inferred';
  heartbeatIntervalMs: number;
  inStreams: number;
  outStreams: number;
  /** configured Association.Max.Retrans */
  maxRetrans: number;
  initRetries: number;
  shutdownRetries: number;
  /** data chunks retransmitted (RTXC) */
  retransmittedChunks: number;
  txQueue: number;
  rxQueue: number;
  sendBuffer: number | null;
  receiveBuffer: number | null;
  owners: readonly Owner[];
  findings: readonly Finding[];
}

export interface Endpoint {
  style: SocketStyle;
  socketState: string;
  localPort: number;
  uid: number;
  inode: number;
  localAddresses: Address[];
  /** bound to the wildcard address (0.0.0.0 or ::) */
  wildcard: boolean;
  owners: Owner[];
}

export interface Snapshot {
  takenAt: string;
  netns: string | null;
  kernelRelease: string | null;
  hz: Hz;
  endpoints: Endpoint[];
  associations: Association[];
  snmp: Record<string, number>;
  warnings: ParseWarning[];
}

export interface SnapshotInput {
  takenAt: Date;
  netns: string | null;
  kernelRelease: string | null;
  hz: Hz;
  assocs: Parsed<AssocRow>;
  eps: Parsed<EndpointRow>;
  remaddr: Parsed<RemaddrRow>;
  snmp: { counters: Record<string, number>; warnings: ParseWarning[] };
  owners?: ReadonlyMap<number, Owner[]>;
}

/** Shared by every association without owners or findings (never changed in place: the types say readonly). */
const NO_OWNERS: readonly Owner[] = Object.freeze([]);
const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/**
 * Join remaddr rows to associations by ASSOC_ID. The two files are read one
 * after the other, so a path added in between still joins by id. During the
 * handshake several associations may share id 0: the kernel prints both files
 * in the same hash-walk order, each association's paths together, so those
 * rows are handed out in order, each to the association whose RADDRS names it.
 */
function groupPaths(assocs: readonly AssocRow[], remaddr: readonly RemaddrRow[]): Map<AssocRow, RemaddrRow[]> {
  const byId = new Map<number, RemaddrRow[]>();
  for (const r of remaddr) {
    const list = byId.get(r.assocId);
    if (list) list.push(r);
    else byId.set(r.assocId, [r]);
  }
  const idCount = new Map<number, number>();
  for (const a of assocs) idCount.set(a.assocId, (idCount.get(a.assocId) ?? 0) + 1);
  const out = new Map<AssocRow, RemaddrRow[]>();
  for (const a of assocs) {
    const rows = byId.get(a.assocId) ?? [];
    if (idCount.get(a.assocId) === 1) {
      out.set(a, rows);
      continue;
    }
    const names = new Set(a.raddrs.map((x) => x.kernelAddress));
    const mine: RemaddrRow[] = [];
    while (rows.length > 0 && mine.length < names.size && names.has(rows[0]!.address.kernelAddress)) mine.push(rows.shift()!);
    out.set(a, mine);
  }
  return out;
}

/** The path most likely carrying traffic: the kernel does not print it, so it is inferred. */
export function inferActive(paths: readonly Path[]): string | null {
  const primary = paths.find((p) => p.primary);
  if (primary && (primary.state === 'ACTIVE' || primary.state === 'UNCONFIRMED')) return primary.address;
  // the kernel moves to another ACTIVE path, or, if none, to a PF one
  return (paths.find((p) => p.state === 'ACTIVE') ?? paths.find((p) => p.state === 'PF'))?.address ?? null;
}

export function deriveFindings(a: Omit<Association, 'findings'>): readonly Finding[] {
  const f: Finding[] = [];
  const up = isUpState(a.state);
  if (!up) {
    f.push({ code: 'not-established', severity: 'info', message: `association is ${a.state}` });
  }
  if (a.localAddresses.length === 1 && a.paths.length > 1) {
    f.push({
      code: 'locally-single-homed',
      severity: 'warn',
      message: `locally single-homed: 1 local address (${a.localAddresses[0]!.address}) toward ${a.paths.length} peer addresses; a local link failure kills the association (bind the socket to every local address: sctp_bindx)`,
    });
  }
  for (const p of a.paths) {
    if (p.state === 'INACTIVE')
      f.push({ code: 'path-inactive', severity: up ? 'warn' : 'info', message: `path ${p.address} is INACTIVE`, path: p.address });
    else if (p.state === 'PF')
      f.push({ code: 'path-pf', severity: 'warn', message: `path ${p.address} is potentially failed (PF)`, path: p.address });
    else if (p.state === 'UNCONFIRMED' && up)
      f.push({ code: 'path-unconfirmed', severity: 'info', message: `path ${p.address} is not yet confirmed by a heartbeat`, path: p.address });
  }
  const primary = a.paths.find((p) => p.primary);
  if (up && primary && primary.state !== 'ACTIVE' && primary.state !== 'UNCONFIRMED') {
    f.push({
      code: 'primary-not-active',
      severity: 'warn',
      message: `primary path ${primary.address} is ${primary.state}: traffic runs on ${a.activePath ?? 'no path'}`,
      path: primary.address,
    });
  }
  if (up && a.paths.length > 0 && a.activePath === null) {
    f.push({ code: 'no-active-path', severity: 'fail', message: 'no path is ACTIVE or PF: the association is about to be aborted' });
  }
  if (a.retransmittedChunks > 0) {
    f.push({ code: 'retransmissions', severity: 'info', message: `${a.retransmittedChunks} data chunk(s) retransmitted (RTXC)` });
  }
  return f.length > 0 ? f : NO_FINDINGS;
}

/**
 * The rows without a second print of the same thing (`dropped` hears of each):
 * the kernel resumes each page by record number, so an association that comes
 * or goes during the read can shift another into a second print. Non-zero ids
 * are unique on the host; the first print is kept.
 */
export function withoutReprints<T>(rows: readonly T[], id: (r: T) => number, part: (r: T) => string, dropped?: (r: T) => void): T[] {
  if (!printedTwice(rows, id, part)) return rows as T[];
  const seen = new Set<string>();
  return rows.filter((r) => {
    const i = id(r);
    if (i === 0) return true;
    const k = `${i} ${part(r)}`;
    if (seen.has(k)) {
      dropped?.(r);
      return false;
    }
    seen.add(k);
    return true;
  });
}

/**
 * Whether some row is printed twice: a non-zero id that starts a second run
 * of rows, or a part repeated within one run (an association's paths are
 * printed together; a record repeated at a page seam follows itself). Made
 * of numbers and the rows' own strings, so the usual case, nothing printed
 * twice, makes no string per row.
 */
function printedTwice<T>(rows: readonly T[], id: (r: T) => number, part: (r: T) => string): boolean {
  const started = new Set<number>();
  const inRun: string[] = [];
  let prev = 0;
  for (const r of rows) {
    const k = id(r);
    if (k === 0) {
      prev = 0;
      continue;
    }
    if (k !== prev) {
      if (started.has(k)) return true;
      started.add(k);
      inRun.length = 0;
      prev = k;
    }
    const p = part(r);
    if (inRun.includes(p)) return true;
    inRun.push(p);
  }
  return false;
}

export function buildSnapshot(i: SnapshotInput): Snapshot {
  const hz = i.hz.value;
  const owners = i.owners ?? new Map<number, Owner[]>();
  const warnings: ParseWarning[] = [];
  const assocsFile = i.assocs.file ?? 'assocs';
  const remaddrFile = i.remaddr.file ?? 'remaddr';
  const assocRows = withoutReprints(i.assocs.rows, (r) => r.assocId, () => '', (r) =>
    warnings.push({ file: assocsFile, line: r.line, message: `ASSOC-ID ${r.assocId} printed again; line skipped` }),
  );
  const ids = new Set(assocRows.map((r) => r.assocId));
  const remaddrRows = withoutReprints(
    i.remaddr.rows.filter((r) => {
      if (ids.has(r.assocId)) return true;
      warnings.push({ file: remaddrFile, line: r.line, message: `ASSOC_ID ${r.assocId} is no association in ${assocsFile}; line skipped` });
      return false;
    }),
    (r) => r.assocId,
    (r) => r.address.kernelAddress,
    (r) => warnings.push({ file: remaddrFile, line: r.line, message: `path ${r.address.address} of ASSOC_ID ${r.assocId} printed again; line skipped` }),
  );
  const pathsOf = groupPaths(assocRows, remaddrRows);
  // every path of an association gone from the transport table between the reads of assocs and remaddr: it is
  // being freed, so it is left out (kept, a diff saw its peers removed and then it gone "closed", not lost);
  // a remaddr with no path at all says nothing about which association left
  const live = remaddrRows.length === 0 ? assocRows : assocRows.filter((r) => r.raddrs.length === 0 || (pathsOf.get(r)?.length ?? 0) > 0);
  const associations = live.map((r): Association => {
    // plain literals in a fixed key order (no object spread): cheaper to build, same JSON
    const paths = (pathsOf.get(r) ?? []).map((p): Path => {
      const fromAssoc = r.raddrs.find((x) => x.kernelAddress === p.address.kernelAddress);
      return {
        address: p.address.address,
        kernelAddress: p.address.kernelAddress,
        family: p.address.family,
        state: pathStateName(p.state),
        stateCode: p.state,
        primary: fromAssoc?.primary ?? false,
        active: false,
        rtoMs: jiffiesToMs(p.rto, hz),
        rtoJiffies: p.rto,
        heartbeatArmed: p.hbActive,
        maxPathRetrans: p.maxPathRtx,
      };
    });
    const activePath = inferActive(paths);
    for (const p of paths) p.active = p.address === activePath;
    const firstPeer = r.raddrs[0]?.address ?? '';
    const a: Association = {
      key: r.assocId !== 0 ? String(r.assocId) : `0:${r.inode}:${r.lport}:${r.rport}:${firstPeer}`,
      id: r.assocId,
      style: socketStyleName(r.sty),
      state: assocStateName(r.st),
      stateCode: r.st,
      socketState: socketStateName(r.sst),
      uid: r.uid,
      inode: r.inode,
      localPort: r.lport,
      peerPort: r.rport,
      // the parser's entries are { address, kernelAddress, family, primarySource }, frozen and shared
      localAddresses: r.laddrs,
      paths,
      primaryPath: paths.find((p) => p.primary)?.address ?? r.raddrs.find((x) => x.primary)?.address ?? null,
      activePath,
      activePathSource: 'inferred',
      heartbeatIntervalMs: jiffiesToMs(r.hbint, hz),
      inStreams: r.ins,
      outStreams: r.outs,
      maxRetrans: r.maxrt,
      initRetries: r.t1x,
      shutdownRetries: r.t2x,
      retransmittedChunks: r.rtxc,
      txQueue: r.txQueue,
      rxQueue: r.rxQueue,
      sendBuffer: r.sndbuf ?? null,
      receiveBuffer: r.rcvbuf ?? null,
      owners: owners.get(r.inode) ?? NO_OWNERS,
      findings: NO_FINDINGS,
    };
    a.findings = deriveFindings(a);
    return a;
  });
  const endpoints = i.eps.rows.map(
    (e): Endpoint => ({
      style: socketStyleName(e.sty),
      socketState: socketStateName(e.sst),
      localPort: e.lport,
      uid: e.uid,
      inode: e.inode,
      localAddresses: e.laddrs,
      wildcard: e.laddrs.some((a) => a.address === '0.0.0.0' || a.address === '::'),
      owners: owners.get(e.inode) ?? [],
    }),
  );
  return {
    takenAt: i.takenAt.toISOString(),
    netns: i.netns,
    kernelRelease: i.kernelRelease,
    hz: i.hz,
    endpoints,
    associations,
    snmp: i.snmp.counters,
    warnings: [...i.assocs.warnings, ...i.eps.warnings, ...i.remaddr.warnings, ...i.snmp.warnings, ...warnings],
  };
}
