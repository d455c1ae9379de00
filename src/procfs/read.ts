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
import { findSocketOwners } from './owners.js';
import { parseAssocs, parseEps, parseRemaddr, parseSnmp } from './parse.js';

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

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      throw new SctpdiagError(`permission denied reading ${path}`, EXIT.PERMISSION, 'run as root');
    if (code === 'ENOENT') throw noSctpError(path);
    throw new SctpdiagError(`cannot read ${path}: ${(e as Error).message}`, EXIT.FAILURE);
  }
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

export async function readSctpTexts(procRoot: string): Promise<Record<SctpFile, string>> {
  await checkSctpDir(procRoot);
  const texts = await Promise.all(SCTP_FILES.map((f) => readText(`${procRoot}/net/sctp/${f}`)));
  return Object.fromEntries(SCTP_FILES.map((f, i) => [f, texts[i]!])) as Record<SctpFile, string>;
}

export interface ReadOptions {
  procRoot: string;
  netns: string | null;
  hz?: number | undefined;
  /** look up owning processes (skipped for captures, where no /proc/PID exists) */
  owners?: boolean;
  now?: () => Date;
}

export async function readSnapshot(o: ReadOptions): Promise<Snapshot> {
  const takenAt = (o.now ?? (() => new Date()))();
  const texts = await readSctpTexts(o.procRoot);
  const meta = await readCaptureMeta(o.procRoot);
  const path = (f: SctpFile) => `${o.procRoot}/net/sctp/${f}`;
  const assocs = parseAssocs(texts.assocs, path('assocs'));
  const release = meta?.kernelRelease ?? (await readOptional(`${o.procRoot}/sys/kernel/osrelease`));
  const hbIntervalText = await readOptional(`${o.procRoot}/sys/net/sctp/hb_interval`);
  const hz = await detectHz({
    option: o.hz,
    captured: meta?.hz,
    release,
    procRoot: o.procRoot,
    hbints: assocs.rows.map((r) => r.hbint),
    hbIntervalMs: hbIntervalText ? Number(hbIntervalText) : null,
  });
  const eps = parseEps(texts.eps, path('eps'));
  let owners;
  if (o.owners !== false && !meta) {
    const inodes = new Set<number>([...assocs.rows.map((r) => r.inode), ...eps.rows.map((r) => r.inode)]);
    owners = await findSocketOwners(o.procRoot, inodes);
  }
  return buildSnapshot({
    takenAt: meta ? new Date(meta.capturedAt) : takenAt,
    netns: meta ? meta.netns : o.netns,
    kernelRelease: release,
    hz,
    assocs,
    eps,
    remaddr: parseRemaddr(texts.remaddr, path('remaddr')),
    snmp: parseSnmp(texts.snmp, path('snmp')),
    owners,
  });
}
