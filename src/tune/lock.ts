/**
 * The tune lock: one apply or rollback at a time per network namespace, held
 * for the whole transaction (originals read, writes, journal). A lock file in
 * the state dir, created with O_EXCL, records who holds it: pid, that
 * process's start time (/proc/PID/stat field 22) and the boot id. A holder is
 * alive only if all three still match, so a lock left by a crash, or whose
 * PID was reused (after a reboot or not), is taken over instead of blocking
 * apply and rollback until someone deletes it by hand.
 */
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EXIT, SctpdiagError } from '../errors.js';
import { readBootId, readStartTime } from '../kernel/identity.js';

/** Who runs (or ran) an apply: a PID alone is not an identity once PIDs are reused. */
export interface Holder {
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks after boot), null when unreadable */
  startTime: string | null;
  /** /proc/sys/kernel/random/boot_id, null when unreadable */
  bootId: string | null;
}

export function selfHolder(): Holder {
  return { pid: process.pid, startTime: readStartTime(process.pid), bootId: readBootId() };
}

/** The holder's process still runs: same boot, PID alive, same start time. */
export function holderAlive(h: Partial<Holder>, probe: { bootId: () => string | null; startTime: (pid: number) => string | null } = { bootId: readBootId, startTime: readStartTime }): boolean {
  if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return false;
  const boot = probe.bootId();
  if (h.bootId && boot && h.bootId !== boot) return false; // recorded before a reboot
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = probe.startTime(h.pid);
  if (h.startTime && st && h.startTime !== st) return false; // the PID was reused
  return true;
}

export function lockPath(stateDir: string, netns: string | null): string {
  return join(stateDir, `tune-${(netns ?? 'init').replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
}

export interface TuneLock {
  path: string;
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readHolder(path: string): Promise<{ text: string; holder: Partial<Holder> } | null> {
  let text: string;
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return { text, holder: typeof h === 'object' && h !== null ? h : {} };
  } catch {
    return { text, holder: {} }; // torn or foreign: treated as a dead holder
  }
}

/**
 * Take the lock, waiting up to waitMs for a live holder; a dead holder's lock
 * is taken over. Throws BUSY naming the holder when the wait runs out.
 */
export async function acquireTuneLock(stateDir: string, netns: string | null, waitMs: number, what: string): Promise<TuneLock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = lockPath(stateDir, netns);
  const me = selfHolder();
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(JSON.stringify({ ...me, what, since: new Date().toISOString() }) + '\n');
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          // only our own lock: a takeover after a (wrong) stale verdict must not be undone by us
          const cur = await readHolder(path).catch(() => null);
          if (cur && cur.holder.pid === me.pid && cur.holder.startTime === me.startTime) await unlink(path).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const cur = await readHolder(path);
    if (!cur) continue; // released meanwhile
    if (!holderAlive(cur.holder)) {
      // stale: move it aside, and remove it only if it is still the one judged dead
      const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      const moved = await readFile(aside, 'utf8').catch(() => null);
      if (moved !== null && moved !== cur.text) await link(aside, path).catch(() => undefined); // a new holder's: put it back, unless yet another took the name
      await unlink(aside).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      const h = cur.holder as Partial<Holder> & { what?: string; since?: string };
      throw new SctpdiagError(
        `another tune ${h.what ?? 'apply or rollback'} (pid ${h.pid}${h.since ? `, since ${h.since}` : ''}) holds ${path}`,
        EXIT.BUSY,
        waitMs > 0 ? `waited ${Math.round(waitMs / 1000)} s; try again when it has finished (--wait S waits longer)` : 'try again when it has finished, or give --wait S',
      );
    }
    await sleep(Math.min(100 + attempt * 20, 500));
  }
}
