/**
 * Drills that passed, kept in the state directory (drills.json) so doctor
 * can say which associations never had their failover verified. The file is
 * untrusted when read back: capped, every entry validated (a bad entry is
 * dropped, not believed), and written atomically without following links.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFileOrNull, writeFileAtomicNoFollow } from '../safefs.js';
import { normaliseUserAddress } from '../model/addr.js';

export const DRILLS_FILE = 'drills.json';
/** the newest this many passed drills are kept */
export const MAX_RECORDS = 200;
export const MAX_DRILLS_BYTES = 256 * 1024;
const RECORD_VERSION = 1;

export interface DrillRecord {
  /** ISO time the drill ended */
  at: string;
  netns: string | null;
  /** the named link it was selected by (--link), if any */
  link: string | null;
  localPort: number;
  peerPort: number;
  /** the peer address that was cut */
  path: string;
  /** what measured it: bpf, procfs or mixed */
  source: string;
}

const port = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max && !/[\x00-\x1f\x7f]/.test(v);

/** One entry as read from the file, or null when it is not a record this code wrote. */
export function validRecord(v: unknown): DrillRecord | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  if (!text(r.at, 40) || Number.isNaN(Date.parse(r.at as string))) return null;
  if (r.netns !== null && !text(r.netns, 64)) return null;
  if (r.link !== null && !text(r.link, 64)) return null;
  if (!port(r.localPort) || !port(r.peerPort)) return null;
  if (typeof r.path !== 'string' || normaliseUserAddress(r.path) !== r.path) return null;
  if (!['bpf', 'procfs', 'mixed'].includes(r.source as string)) return null;
  return { at: r.at as string, netns: r.netns as string | null, link: r.link as string | null, localPort: r.localPort as number, peerPort: r.peerPort as number, path: r.path, source: r.source as string };
}

/** The file's text → its valid records (newest last) and how many entries were refused. */
export function parseRecords(textIn: string): { records: DrillRecord[]; refused: number } {
  let j: unknown;
  try {
    j = JSON.parse(textIn);
  } catch {
    return { records: [], refused: 1 };
  }
  const list = (j as { version?: unknown; drills?: unknown } | null)?.drills;
  if ((j as { version?: unknown } | null)?.version !== RECORD_VERSION || !Array.isArray(list)) return { records: [], refused: 1 };
  const records: DrillRecord[] = [];
  let refused = 0;
  for (const e of list.slice(-MAX_RECORDS)) {
    const r = validRecord(e);
    if (r) records.push(r);
    else refused++;
  }
  return { records, refused };
}

export async function readRecords(stateDir: string): Promise<{ records: DrillRecord[]; refused: number }> {
  const t = await readRegularFileOrNull(join(stateDir, DRILLS_FILE), MAX_DRILLS_BYTES);
  return t === null ? { records: [], refused: 0 } : parseRecords(t);
}

/** Append a passed drill (the oldest beyond MAX_RECORDS go); an unreadable old file is replaced. */
export async function appendRecord(stateDir: string, r: DrillRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const old = await readRecords(stateDir).catch(() => ({ records: [] as DrillRecord[] }));
  const drills = [...old.records, r].slice(-MAX_RECORDS);
  await writeFileAtomicNoFollow(join(stateDir, DRILLS_FILE), JSON.stringify({ version: RECORD_VERSION, drills }) + '\n', 0o600);
}

/** The newest passed drill of an association (same netns and ports, the cut path one of its paths), or null. */
export function lastVerified(records: readonly DrillRecord[], a: { netns: string | null; localPort: number; peerPort: number; paths: readonly { address: string }[] }): DrillRecord | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.netns === a.netns && r.localPort === a.localPort && r.peerPort === a.peerPort && a.paths.some((p) => p.address === r.path)) return r;
  }
  return null;
}
