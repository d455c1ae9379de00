/**
 * The I/O side of the snapshot: read the four /proc/net/sctp files (or a saved
 * copy of them under --proc-root), find HZ and the owning processes, and hand
 * the text to the pure parsers and model.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { EXIT, SctpdiagError, noSctpError } from '../errors.js';
import { detectHz } from '../kernel/hz.js';
import { buildSnapshot, type Snapshot } from '../model/snapshot.js';
import { ChunkReader } from './chunks.js';
import { scanAllSocketOwners } from './owners.js';
import { assocsParser, epsParser, LineFeed, remaddrParser, snmpParser, type LineParser } from './parse.js';
import { takePrefetched } from './prefetch.js';

export const SCTP_FILES = ['assocs', 'eps', 'remaddr', 'snmp'] as const;
export type SctpFile = (typeof SCTP_FILES)[number];

/** Written by `sctpdiag capture` beside the copied files. */
export const CAPTURE_META = 'sctpdiag-capture.json';

export interface CaptureMeta {
  schemaVersion: 1;
  capturedAt: string;
  kernelRelease: string | null;
  hz: number;
  hzSource: string;
  netns: string | null;
  hostname: string;
}

export async function readCaptureMeta(procRoot: string): Promise<CaptureMeta | null> {
  try {
    const m = JSON.parse(await readFile(`${procRoot}/${CAPTURE_META}`, 'utf8')) as Partial<CaptureMeta>;
    return typeof m === 'object' && m !== null && typeof m.hz === 'number' ? (m as CaptureMeta) : null;
  } catch {
    return null;
  }
}

function readError(path: string, e: unknown): SctpdiagError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new SctpdiagError(`permission denied reading ${path}`, EXIT.PERMISSION, 'run as root');
  if (code === 'ENOENT') return noSctpError(path);
  return new SctpdiagError(`cannot read ${path}: ${(e as Error).message}`, EXIT.FAILURE);
}


/** Read `path` through `parser` page by page (chunks.ts says why); `keep` gets the whole text too. */
async function readParsed<R>(path: string, parser: LineParser<R>, keep?: (text: string) => void): Promise<R> {
  const feed = new LineFeed(parser.line);
  const pieces: string[] | null = keep ? [] : null;
  try {
    await (takePrefetched(path) ?? new ChunkReader(path)).attach((t) => {
      pieces?.push(t);
      feed.push(t);
    });
  } catch (e) {
    throw readError(path, e);
  }
  feed.end();
  if (keep && pieces) keep(pieces.join(''));
  return parser.result();
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Fail early and clearly when the root or its net/sctp directory is missing. */
export async function checkSctpDir(procRoot: string): Promise<void> {
  if (procRoot !== '/proc') {
    const st = await stat(procRoot).catch(() => null);
    if (!st?.isDirectory())
      throw new SctpdiagError(`--proc-root ${procRoot}: no such directory`, EXIT.NOT_FOUND);
  }
  try {
    await access(`${procRoot}/net/sctp`, constants.F_OK);
  } catch {
    throw noSctpError(`${procRoot}/net/sctp`);
  }
}


export interface ReadOptions {
  procRoot: string;
  netns: string | null;
  hz?: number | undefined;
  /** look up owning processes (skipped for captures, where no /proc/PID exists) */
  owners?: boolean;
  now?: () => Date;
  /** filled with the text of each file as read (`capture` saves exactly what the snapshot was made of) */
  texts?: Partial<Record<SctpFile, string>>;
}

export async function readSnapshot(o: ReadOptions): Promise<Snapshot> {
  const takenAt = (o.now ?? (() => new Date()))();
  await checkSctpDir(o.procRoot);
  const meta = await readCaptureMeta(o.procRoot);
  const path = (f: SctpFile) => `${o.procRoot}/net/sctp/${f}`;
  const keep = (f: SctpFile) => (o.texts ? (t: string) => void (o.texts![f] = t) : undefined);
  // everything at once: the four files side by side, parsed page by page, and
  // the owner scan in slices in between; the kernel printing assocs is the
  // critical path and the rest hides behind it
  const files = Promise.all([
    readParsed(path('assocs'), assocsParser(path('assocs')), keep('assocs')),
    readParsed(path('eps'), epsParser(path('eps')), keep('eps')),
    readParsed(path('remaddr'), remaddrParser(path('remaddr')), keep('remaddr')),
    readParsed(path('snmp'), snmpParser(path('snmp')), keep('snmp')),
  ]);
  const small = Promise.all([
    meta?.kernelRelease ?? readOptional(`${o.procRoot}/sys/kernel/osrelease`),
    readOptional(`${o.procRoot}/sys/net/sctp/hb_interval`),
  ]);
  // started after the reads: its first slice runs synchronously
  const ownerScan = o.owners !== false && !meta ? scanAllSocketOwners(o.procRoot) : null;
  // a failed read must not leave the scan's rejection unobserved (it never rejects, but be sure)
  ownerScan?.catch(() => {});
  const [[assocs, eps, remaddr, snmp], [release, hbIntervalText]] = await Promise.all([files, small]);
  const hz = await detectHz({
    option: o.hz,
    captured: meta?.hz,
    release,
    procRoot: o.procRoot,
    hbints: assocs.rows.map((r) => r.hbint),
    hbIntervalMs: hbIntervalText ? Number(hbIntervalText) : null,
  });
  let owners;
  if (ownerScan) {
    const all = await ownerScan;
    owners = all.pick(new Set<number>([...assocs.rows.map((r) => r.inode), ...eps.rows.map((r) => r.inode)]));
  }
  return buildSnapshot({
    takenAt: meta ? new Date(meta.capturedAt) : takenAt,
    netns: meta ? meta.netns : o.netns,
    kernelRelease: release,
    hz,
    assocs,
    eps,
    remaddr,
    snmp,
    owners,
  });
}
