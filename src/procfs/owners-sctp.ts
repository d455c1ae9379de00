/**
 * Which processes own SCTP sockets: inodes from /proc/net/sctp/{eps,assocs}
 * (INODE column, found by header), matched against /proc/PID/fd/* links
 * `socket:[INODE]`. Best effort: processes that vanish or cannot be read
 * (EACCES, ENOENT) are skipped silently.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SocketOwner {
  pid: number;
  comm: string;
  inodes: number[];
}

/** INODE values of a /proc/net/sctp table (header-driven; LADDRS etc. may follow). */
export function inodesFromTable(text: string): number[] {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  const col = header.indexOf('INODE');
  if (col < 0) return [];
  const out: number[] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const v = f[col];
    if (v !== undefined && /^\d+$/.test(v) && v !== '0') out.push(Number(v));
  }
  return out;
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export async function findSctpSocketOwners(procRoot: string): Promise<Array<{ pid: number; comm: string; inodes: number[] }>> {
  const inodes = new Set<number>();
  for (const f of ['eps', 'assocs']) for (const i of inodesFromTable(await readOr(join(procRoot, 'net', 'sctp', f)))) inodes.add(i);
  if (inodes.size === 0) return [];
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const out: SocketOwner[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(join(procRoot, pid, 'fd'));
    } catch {
      continue;
    }
    const mine = new Set<number>();
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(await readlink(join(procRoot, pid, 'fd', fd)));
        if (m && inodes.has(Number(m[1]))) mine.add(Number(m[1]));
      } catch {
        /* gone or not ours */
      }
    }
    if (mine.size > 0) {
      const comm = (await readOr(join(procRoot, pid, 'comm'))).trim() || '?';
      out.push({ pid: Number(pid), comm, inodes: [...mine].sort((a, b) => a - b) });
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
