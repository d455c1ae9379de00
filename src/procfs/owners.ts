/**
 * Which processes own a socket inode, found as `ss -p` does: every
 * /proc/PID/fd/* link reading `socket:[INODE]`; processes we may not inspect
 * are skipped. Synchronous readlink()s (a thread-pool round trip per descriptor
 * cost as much as the kernel's printing), in slices so the event loop stays free.
 */
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';

import type { Owner } from '../model/rows.js';

export type { Owner };

/** readlink()s between two yields of the sliced scan */
const SLICE = 16;

/**
 * The scan itself: calls `hit(inode, pid, comm)` for every socket descriptor
 * whose inode `wanted` accepts, and yields after every SLICE descriptors so an
 * async caller can let other work (the procfs readers) run in between.
 */
function* scan(procRoot: string, wanted: (inode: number) => boolean, hit: (inode: number, owner: Owner) => void): Generator<void, void, undefined> {
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  let budget = SLICE;
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
      if (--budget <= 0) {
        budget = SLICE;
        yield;
      }
      let link: string;
      try {
        link = readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      // "socket:[12345]"
      if (link.charCodeAt(0) !== 115 /* s */ || !link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (wanted(inode)) found.add(inode);
    }
    if (found.size === 0) continue;
    let comm = '?';
    try {
      comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
    } catch {
      /* exited */
    }
    const owner: Owner = { pid: Number(pid), comm };
    for (const inode of found) hit(inode, owner);
  }
}

function collector(): { owners: Map<number, Owner[]>; hit: (inode: number, o: Owner) => void; sorted: () => Map<number, Owner[]> } {
  const owners = new Map<number, Owner[]>();
  return {
    owners,
    hit(inode, o) {
      const list = owners.get(inode);
      if (list) list.push(o);
      else owners.set(inode, [o]);
    },
    sorted() {
      for (const list of owners.values()) list.sort((a, b) => a.pid - b.pid);
      return owners;
    },
  };
}

export function findSocketOwnersSync(procRoot: string, inodes: ReadonlySet<number>): Map<number, Owner[]> {
  const c = collector();
  if (inodes.size === 0) return c.owners;
  for (const _ of scan(procRoot, (i) => inodes.has(i), c.hit));
  return c.sorted();
}

/** findSocketOwnersSync in slices that leave the event loop free between them (top keeps drawing while a 10k scan runs). */
export async function findSocketOwnersSliced(procRoot: string, inodes: ReadonlySet<number>): Promise<Map<number, Owner[]>> {
  const c = collector();
  if (inodes.size === 0) return c.owners;
  for (const _ of scan(procRoot, (i) => inodes.has(i), c.hit)) await new Promise<void>((r) => setImmediate(r));
  return c.sorted();
}
