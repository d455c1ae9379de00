/**
 * Which processes own a socket inode, found the way `ss -p` does: every
 * /proc/PID/fd/* link that reads `socket:[INODE]`. Best effort: processes we
 * may not inspect (not root) or that exit meanwhile are silently skipped.
 */
import { readdir, readlink, readFile } from 'node:fs/promises';

export interface Owner {
  pid: number;
  comm: string;
}

export async function findSocketOwners(procRoot: string, inodes: ReadonlySet<number>): Promise<Map<number, Owner[]>> {
  const owners = new Map<number, Owner[]>();
  if (inodes.size === 0) return owners;
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((d) => /^\d+$/.test(d));
  } catch {
    return owners;
  }
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`${procRoot}/${pid}/fd`);
      } catch {
        return;
      }
      const found = new Set<number>();
      for (const fd of fds) {
        let link: string;
        try {
          link = await readlink(`${procRoot}/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(Number(m[1]))) found.add(Number(m[1]));
      }
      if (found.size === 0) return;
      let comm = '?';
      try {
        comm = (await readFile(`${procRoot}/${pid}/comm`, 'utf8')).trim();
      } catch {
        /* exited */
      }
      for (const inode of found) {
        const list = owners.get(inode) ?? [];
        list.push({ pid: Number(pid), comm });
        owners.set(inode, list);
      }
    }),
  );
  for (const list of owners.values()) list.sort((a, b) => a.pid - b.pid);
  return owners;
}
