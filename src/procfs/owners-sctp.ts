/**
 * Which processes own SCTP sockets at all (for `tune`: they keep the values
 * copied at socket creation until restarted): every INODE of
 * /proc/net/sctp/{eps,assocs}, through the same parsers as the snapshot and
 * the same fd scan as `status` (owners.ts). Best effort, never throws.
 */
import { join } from 'node:path';
import { findSocketOwnersSync } from './owners.js';
import { assocsParser, epsParser, type LineParser, type Parsed } from './parse.js';
import { readSctpFile } from './sctpfile.js';

export interface SocketOwner {
  pid: number;
  comm: string;
  inodes: number[];
}

async function rowsOr<T>(path: string, parser: LineParser<Parsed<T>>): Promise<T[]> {
  try {
    return (await readSctpFile(path, parser)).result.rows;
  } catch {
    return [];
  }
}

export async function findSctpSocketOwners(procRoot: string): Promise<SocketOwner[]> {
  const inodes = new Set<number>();
  for (const r of await rowsOr(join(procRoot, 'net', 'sctp', 'eps'), epsParser())) if (r.inode) inodes.add(r.inode);
  for (const r of await rowsOr(join(procRoot, 'net', 'sctp', 'assocs'), assocsParser())) if (r.inode) inodes.add(r.inode);
  const byPid = new Map<number, SocketOwner>();
  for (const [inode, owners] of findSocketOwnersSync(procRoot, inodes)) {
    for (const o of owners) {
      const s = byPid.get(o.pid) ?? { pid: o.pid, comm: o.comm, inodes: [] };
      s.inodes.push(inode);
      byPid.set(o.pid, s);
    }
  }
  for (const s of byPid.values()) s.inodes.sort((a, b) => a - b);
  return [...byPid.values()].sort((a, b) => a.pid - b.pid);
}
