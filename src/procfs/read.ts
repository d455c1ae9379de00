/**
 * The I/O side of the snapshot: read the four /proc/net/sctp files (or a saved
 * copy of them under --proc-root), find HZ and the owning processes, and hand
 * the text to the pure parsers and model.
 */
import { access, stat } from 'node:fs/promises';
import { readRegularFileSync, UnsafeFileError } from '../safefs.js';
import { constants } from 'node:fs';
import { EXIT, SctpdiagError, noSctpError } from '../errors.js';
import { hzFromAssociations } from '../kernel/hz.js';
import { hzFromConfigSources } from './hz.js';
import { buildSnapshot, type Snapshot } from '../model/snapshot.js';
import type { ReadCost } from '../kernel/pacing.js';
import { findSocketOwnersSliced, type Owner } from './owners.js';
import { assocsParser, epsParser, remaddrParser, snmpParser, type LineParser } from './parse.js';
import { readSctpFile } from './sctpfile.js';

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

/** Why a capture's metadata cannot be used, or null when it can. */
export function invalidCaptureMeta(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not a JSON object';
  const o = m as Record<string, unknown>;
  if (!Number.isInteger(o['hz']) || (o['hz'] as number) < 1 || (o['hz'] as number) > 10_000) return `hz ${JSON.stringify(o['hz'])} is not a kernel HZ (an integer 1–10000)`;
  const at = o['capturedAt'];
  if (typeof at !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(at) || Number.isNaN(Date.parse(at))) return `capturedAt ${JSON.stringify(at)} is not an ISO time`;
  for (const k of ['kernelRelease', 'netns'] as const)
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string') return `${k} is not a string`;
  return null;
}

/** The capture's metadata, null when there is none; a file that is there but unusable is an error (exit 2). */
export async function readCaptureMeta(procRoot: string): Promise<CaptureMeta | null> {
  const path = `${procRoot}/${CAPTURE_META}`;
  let text: string;
  try {
    text = readRegularFileSync(path, 64 * 1024);
  } catch (e) {
    if (e instanceof UnsafeFileError && e.code === 'ENOENT') return null;
    throw e;
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new SctpdiagError(`${path}: not JSON; the capture's metadata is unusable`, EXIT.USAGE);
  }
  const why = invalidCaptureMeta(m);
  if (why) throw new SctpdiagError(`${path}: ${why}`, EXIT.USAGE);
  return m as CaptureMeta;
}


function readError(path: string, e: unknown, capture = false): SctpdiagError {
  if (e instanceof SctpdiagError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new SctpdiagError(`permission denied reading ${path}`, EXIT.PERMISSION, 'run as root');
  // a capture lacking one file is an incomplete capture, not a kernel without SCTP
  if (code === 'ENOENT') return capture ? new SctpdiagError(`${path}: missing from the capture`, EXIT.USAGE) : noSctpError(path);
  return new SctpdiagError(`cannot read ${path}: ${(e as Error).message}`, EXIT.FAILURE);
}

/** a small file that may be absent (or hostile: a FIFO, a device), as trimmed text */
async function readOptional(path: string): Promise<string | null> {
  try {
    return readRegularFileSync(path, 4096).trim();
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
  /** filled with what the read cost the kernel (kernel/pacing.ts) */
  cost?: ReadCost;
  /** filled with the time of each step's end, ms since the process started (SCTPDIAG_TIMING, the lab bench) */
  marks?: Record<string, number>;
}

/** A procfs file's size, guessed from its first page (a header, then rows) and how many rows it will have. */
export function guessBytes(firstPage: string, rows: number | undefined): number | null {
  const lines = firstPage.split('\n').length - 1;
  if (!rows || lines < 2) return null;
  const header = firstPage.indexOf('\n') + 1;
  const perRow = (firstPage.lastIndexOf('\n') + 1 - header) / (lines - 1);
  return Math.round(header + rows * perRow);
}

export async function readSnapshot(o: ReadOptions): Promise<Snapshot> {
  const takenAt = (o.now ?? (() => new Date()))();
  // the kernel CPU of the whole read (eps, snmp and the owner scan's readlinks too): what the pacing budget is about
  const sys0 = o.cost ? process.cpuUsage().system : 0;
  const mark = o.marks ? (k: string) => void (o.marks![k] = Math.round(performance.now())) : () => {};
  await checkSctpDir(o.procRoot);
  const meta = await readCaptureMeta(o.procRoot);
  const capture = o.procRoot !== '/proc';
  const dir = `${o.procRoot}/net/sctp`;
  const read = <R>(name: SctpFile, parser: LineParser<R>, more: { sync?: boolean; guessSize?: (page: string) => number | null } = {}) => {
    const path = `${dir}/${name}`;
    return readSctpFile(path, parser, { ...more, keepText: o.texts !== undefined }).then(
      (r) => {
        if (o.texts && r.text !== undefined) o.texts[name] = r.text;
        mark(name);
        return r;
      },
      (e: unknown) => {
        throw readError(path, e, capture);
      },
    );
  };
  const release = meta?.kernelRelease ?? readOptional(`${o.procRoot}/sys/kernel/osrelease`);
  const small = Promise.all([
    release,
    readOptional(`${o.procRoot}/sys/net/sctp/hb_interval`),
    // CONFIG_HZ from the kernel's config while the kernel prints
    Promise.resolve(release).then((r) => hzFromConfigSources({ option: o.hz, captured: meta?.hz, release: r, procRoot: o.procRoot })),
  ]);
  small.catch(() => {});
  // the two costly files one after the other (two walks of the transport table at once slow each other), each in two
  // ranges when large (sctpfile.ts), sized by their row counts: snmp's established associations, then assocs's paths
  const [eps, snmp] = await Promise.all([read('eps', epsParser(`${dir}/eps`)), read('snmp', snmpParser(`${dir}/snmp`))]);
  const guess = (rows: () => number | undefined) => (capture ? {} : { guessSize: (page: string) => guessBytes(page, rows()) });
  const assocs = await read('assocs', assocsParser(`${dir}/assocs`), { sync: true, ...guess(() => snmp.result.counters['SctpCurrEstab']) });
  const remaddrRead = read('remaddr', remaddrParser(`${dir}/remaddr`), guess(() => assocs.result.rows.reduce((n, r) => n + r.raddrs.length, 0)));
  remaddrRead.catch(() => {});
  // owners only of the SCTP sockets, once their inodes are known, while the kernel prints remaddr (a capture has no /proc/PID: its metadata says so)
  let owners: Map<number, Owner[]> | undefined;
  if (o.owners !== false && !meta) {
    const inodes = new Set<number>();
    for (const r of assocs.result.rows) inodes.add(r.inode);
    for (const r of eps.result.rows) inodes.add(r.inode);
    inodes.delete(0);
    owners = await findSocketOwnersSliced(o.procRoot, inodes);
    mark('owners');
  }
  const [remaddr, [kernelRelease, hbIntervalText, configHz]] = await Promise.all([remaddrRead, small]);
  mark('filesAndConfig');
  if (o.cost) {
    o.cost.kernelMs = assocs.kernelMs + remaddr.kernelMs;
    o.cost.associations = assocs.result.rows.length;
  }
  const hz =
    configHz ?? hzFromAssociations({ hbints: assocs.result.rows.map((r) => r.hbint), hbIntervalMs: hbIntervalText ? Number(hbIntervalText) : null });
  if (o.cost) o.cost.kernelMs = Math.max(o.cost.kernelMs, (process.cpuUsage().system - sys0) / 1000);
  const snapshot = buildSnapshot({
    takenAt: meta ? new Date(meta.capturedAt) : takenAt,
    netns: meta ? meta.netns : o.netns,
    kernelRelease,
    hz,
    assocs: assocs.result,
    eps: eps.result,
    remaddr: remaddr.result,
    snmp: snmp.result,
    owners,
  });
  mark('built');
  return snapshot;
}
