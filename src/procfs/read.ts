/**
 * The I/O side of the snapshot: read the four /proc/net/sctp files (or a saved
 * copy of them under --proc-root), find HZ and the owning processes, and hand
 * the text to the pure parsers and model.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { EXIT, SctpdiagError, noSctpError } from '../errors.js';
import { hzFromAssociations, hzFromConfigSources } from '../kernel/hz.js';
import { buildSnapshot, type Snapshot } from '../model/snapshot.js';
import { openSctpFile } from './costly.js';
import { findSocketOwnersSliced } from './owners.js';
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

/** Read the file `name` of `dir` through `parser` page by page (chunks.ts says why); `keep` gets the whole text too. */
async function readParsed<R>(dir: string, name: SctpFile, parser: LineParser<R>, keep?: (text: string) => void, sync = false): Promise<R> {
  const path = `${dir}/${name}`;
  const feed = new LineFeed(parser.line);
  const pieces: string[] | null = keep ? [] : null;
  try {
    await (takePrefetched(path) ?? openSctpFile(dir, name)).attach((t) => {
      pieces?.push(t);
      feed.push(t);
    }, { sync });
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
  /** filled with the time of each step's end, ms since the process started (SCTPDIAG_TIMING, the lab bench) */
  marks?: Record<string, number>;
}

export async function readSnapshot(o: ReadOptions): Promise<Snapshot> {
  const takenAt = (o.now ?? (() => new Date()))();
  const mark = o.marks ? (k: string) => void (o.marks![k] = Math.round(performance.now())) : () => {};
  await checkSctpDir(o.procRoot);
  const meta = await readCaptureMeta(o.procRoot);
  const dir = `${o.procRoot}/net/sctp`;
  const path = (f: SctpFile) => `${dir}/${f}`;
  const keep = (f: SctpFile) => (o.texts ? (t: string) => void (o.texts![f] = t) : undefined);
  // the four files side by side, each page parsed as it comes: the kernel's
  // printing of assocs is the critical path (lab, 10k: 6.8 s to read, 7.1 s
  // to read and parse; remaddr, 2 s, is read beside it), so when large it is
  // read in two ranges at once (costly.ts).
  //
  // Every socket's owners, in slices beside the reads (the inodes are not
  // known yet; buildSnapshot takes those it needs). Measured in the lab at
  // 10k: with assocs read in two ranges this ends ~0.3 s sooner than a scan
  // after the reads; with assocs in one range on this thread it had made that
  // read 2.6 s slower, and so ran after it.
  const stopScan = new AbortController();
  const ownerScan =
    o.owners !== false && !meta ? findSocketOwnersSliced(o.procRoot, 'all', stopScan.signal).then((m) => (mark('owners'), m)) : null;
  const files = Promise.all([
    // assocs' first range, the long pole, by read(2) on this thread (chunks.ts says why)
    readParsed(dir, 'assocs', assocsParser(path('assocs')), keep('assocs'), true).then((r) => (mark('assocs'), r)),
    readParsed(dir, 'eps', epsParser(path('eps')), keep('eps')).then((r) => (mark('eps'), r)),
    readParsed(dir, 'remaddr', remaddrParser(path('remaddr')), keep('remaddr')).then((r) => (mark('remaddr'), r)),
    readParsed(dir, 'snmp', snmpParser(path('snmp')), keep('snmp')).then((r) => (mark('snmp'), r)),
  ]);
  const release = meta?.kernelRelease ?? readOptional(`${o.procRoot}/sys/kernel/osrelease`);
  const small = Promise.all([
    release,
    readOptional(`${o.procRoot}/sys/net/sctp/hb_interval`),
    // CONFIG_HZ from the kernel's config while the kernel prints
    Promise.resolve(release).then((r) =>
      hzFromConfigSources({ option: o.hz, captured: meta?.hz, release: r, procRoot: o.procRoot }),
    ),
  ]);
  // a file that cannot be read ends the snapshot: the scan beside it stops too
  const [[assocs, eps, remaddr, snmp], [kernelRelease, hbIntervalText, configHz]] = await Promise.all([files, small]).catch((e: unknown) => {
    stopScan.abort();
    throw e;
  });
  mark('filesAndConfig');
  const hz =
    configHz ??
    hzFromAssociations({ hbints: assocs.rows.map((r) => r.hbint), hbIntervalMs: hbIntervalText ? Number(hbIntervalText) : null });
  const owners = ownerScan ? await ownerScan : undefined;
  const snapshot = buildSnapshot({
    takenAt: meta ? new Date(meta.capturedAt) : takenAt,
    netns: meta ? meta.netns : o.netns,
    kernelRelease,
    hz,
    assocs,
    eps,
    remaddr,
    snmp,
    owners,
  });
  mark('built');
  return snapshot;
}
