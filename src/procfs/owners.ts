/**
 * Which processes own a socket inode, found the way `ss -p` does: every
 * /proc/PID/fd/* link that reads `socket:[INODE]`. Best effort: processes we
 * may not inspect (not root) or that exit meanwhile are silently skipped.
 *
 * Synchronous on purpose: one readlink per descriptor, and a process holding
 * 10k SCTP sockets has 10k of them. Through the libuv thread pool each call
 * costs a round trip; in the lab at 10k associations the async version took
 * about as long as the kernel took to print /proc/net/sctp/assocs.
 */
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';

export interface Owner {
  pid: number;
  comm: string;
}

export function findSocketOwnersSync(procRoot: string, inodes: ReadonlySet<number>): Map<number, Owner[]> {
  const owners = new Map<number, Owner[]>();
  if (inodes.size === 0) return owners;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return owners;
  }
  for (const pid of pids) {
    const fdDir = `${procRoot}/${pid}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      continue;
    }
    const found = new Set<number>();
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      // "socket:[12345]"
      if (link.charCodeAt(0) !== 115 /* s */ || !link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (inodes.has(inode)) found.add(inode);
    }
    if (found.size === 0) continue;
    let comm = '?';
    try {
      comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
    } catch {
      /* exited */
    }
    for (const inode of found) {
      const list = owners.get(inode);
      if (list) list.push({ pid: Number(pid), comm });
      else owners.set(inode, [{ pid: Number(pid), comm }]);
    }
  }
  for (const list of owners.values()) list.sort((a, b) => a.pid - b.pid);
  return owners;
}

/** Promise form, for callers that are async anyway. */
export async function findSocketOwners(procRoot: string, inodes: ReadonlySet<number>): Promise<Map<number, Owner[]>> {
  return findSocketOwnersSync(procRoot, inodes);
}
