/**
 * One drill at a time on this host: a lock file created with O_EXCL|O_NOFOLLOW
 * in a root-owned directory. It names its holder by boot id, pid and the pid's
 * start time, so a lock left by a killed drill (or a previous boot, or a reused
 * pid) is recognised as stale and replaced.
 */
import { constants, promises as fs, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, SctpdiagError } from '../errors.js';
import { readBootId, readStartTime } from '../kernel/identity.js';
import { readRegularFile } from '../safefs.js';

export const DEFAULT_LOCK_DIR = '/run/sctpdiag';
export const LOCK_NAME = 'drill.lock';

export interface LockOwner {
  pid: number;
  bootId: string;
  /** /proc/PID/stat field 22 (starttime, clock ticks since boot) */
  startTime: string;
  netns: string | null;
  since: string;
}

export interface ProcInfo {
  bootId(): Promise<string>;
  startTime(pid: number): Promise<string | null>;
}

export const realProc: ProcInfo = {
  bootId: async () => {
    const id = readBootId();
    if (id === null) throw new Error('cannot read /proc/sys/kernel/random/boot_id');
    return id;
  },
  startTime: async (pid) => readStartTime(pid),
};

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (!Number.isInteger(o.pid) || typeof o.bootId !== 'string' || typeof o.startTime !== 'string') return null;
    return o as LockOwner;
  } catch {
    return null;
  }
}

/** Is the lock's holder this very process still alive (same boot, same pid start time)? */
async function isLive(o: LockOwner | null, proc: ProcInfo): Promise<boolean> {
  if (!o) return false;
  if (o.bootId !== (await proc.bootId())) return false;
  const st = await proc.startTime(o.pid);
  return st !== null && st === o.startTime;
}

export interface DrillLock {
  path: string;
  owner: LockOwner;
  /** a stale lock was replaced (a killed drill): its nft table may still be there */
  replacedStale: LockOwner | null;
  release(): void;
}

async function safeDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) throw new SctpdiagError(`${dir} is not a directory`, EXIT.FAILURE);
  if (process.getuid?.() === 0 && st.uid !== 0) throw new SctpdiagError(`${dir} is not owned by root: refusing to lock there`, EXIT.FAILURE);
}

export async function acquireLock(o: { dir?: string; netns: string | null; proc?: ProcInfo; pid?: number }): Promise<DrillLock> {
  const dir = o.dir ?? DEFAULT_LOCK_DIR;
  const proc = o.proc ?? realProc;
  const pid = o.pid ?? process.pid;
  await safeDir(dir);
  const path = join(dir, LOCK_NAME);
  const owner: LockOwner = {
    pid,
    bootId: await proc.bootId(),
    startTime: (await proc.startTime(pid)) ?? '',
    netns: o.netns,
    since: new Date().toISOString(),
  };
  let replacedStale: LockOwner | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(JSON.stringify(owner) + '\n');
      } finally {
        await fh.close();
      }
      const release = () => {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
      return { path, owner, replacedStale, release };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await fs.lstat(path).catch(() => null);
    if (st && !st.isFile()) throw new SctpdiagError(`${path} is not a regular file: refusing to touch it`, EXIT.FAILURE);
    // read without following a link swapped in after the lstat; oversize is unreadable, so stale
    const text = st ? await readRegularFile(path, 4096).catch(() => '') : '';
    const held = parseOwner(text);
    if (await isLive(held, proc))
      throw new SctpdiagError(
        `another drill is running (pid ${held!.pid}${held!.netns ? `, netns ${held!.netns}` : ''}, since ${held!.since})`,
        EXIT.BUSY,
        `wait for it to end; its cut ends by itself at its --for`,
      );
    // stale: its holder is gone (killed, or a previous boot); take it over
    replacedStale = held ?? { pid: 0, bootId: '', startTime: '', netns: null, since: 'unknown' };
    await fs.unlink(path).catch(() => {});
  }
  throw new SctpdiagError(`could not take the drill lock ${path}`, EXIT.BUSY);
}
