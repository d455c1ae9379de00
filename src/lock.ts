/**
 * The one lock of tune and drill: a file linked into place whole (never seen
 * empty or half-written) names its holder by pid, start time and boot id, so a
 * lock left by a crash, a reboot or a reused pid is taken over instead of
 * blocking until someone deletes it by hand.
 */
import { createHash } from 'node:crypto';
import { constants, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EXIT, SctpdiagError } from './errors.js';
import { readBootId, readStartTime } from './kernel/identity.js';
import { readRegularFile, readRegularFileSync, UnsafeFileError } from './safefs.js';

/** Who runs (or ran) a locked operation: a PID alone is not an identity once PIDs are reused. */
export interface Holder {
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks after boot), null when unreadable */
  startTime: string | null;
  /** /proc/sys/kernel/random/boot_id, null when unreadable */
  bootId: string | null;
}

/** What a lock file holds. */
export interface LockRecord extends Holder {
  what: string;
  netns: string | null;
  since: string;
}

/** Where liveness is read from (tests give a fake). */
export interface Probe {
  bootId(): string | null;
  startTime(pid: number): string | null;
}

const realProbe: Probe = { bootId: readBootId, startTime: readStartTime };
const MAX_BYTES = 4096;

export function selfHolder(probe: Probe = realProbe, pid = process.pid): Holder {
  return { pid, startTime: probe.startTime(pid), bootId: probe.bootId() };
}

/** The holder still runs: same boot, and its pid has the recorded start time (when either is unknown: the pid exists). */
export function holderAlive(h: Partial<Holder>, probe: Probe = realProbe): boolean {
  if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return false;
  const boot = probe.bootId();
  if (h.bootId && boot && h.bootId !== boot) return false; // recorded before a reboot
  const st = probe.startTime(h.pid);
  if (st !== null && h.startTime) return st === h.startTime; // differs: the pid was reused
  if (st !== null) return true;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseRecord(text: string): Partial<LockRecord> | null {
  try {
    const r = JSON.parse(text) as unknown;
    return typeof r === 'object' && r !== null ? (r as Partial<LockRecord>) : null;
  } catch {
    return null; // torn or foreign: a dead holder
  }
}

export interface Lock {
  path: string;
  /** the dead holder's record that was taken over ({} when unreadable), or null */
  replacedStale: Partial<LockRecord> | null;
  /** removes the file if it is still ours; synchronous, so an exit handler can call it */
  release(): void;
}

export interface LockOptions {
  dir: string;
  name: string;
  what: string;
  netns: string | null;
  /** how long to wait for a live holder before throwing busy(holder) */
  waitMs: number;
  busy: (holder: Partial<LockRecord>, path: string) => SctpdiagError;
  /** the directory must be a real directory, root's when we are root (a lock dir shared by every run on the host) */
  rootDir?: boolean;
  probe?: Probe;
  pid?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function prepareDir(dir: string, rootDir: boolean): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!rootDir) return;
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new SctpdiagError(`${dir} is not a directory`, EXIT.FAILURE);
  if (process.getuid?.() === 0 && st.uid !== 0) throw new SctpdiagError(`${dir} is not owned by root: refusing to lock there`, EXIT.FAILURE);
  // a group- or world-writable lock dir lets anyone plant a lock that blocks every run
  if (st.mode & 0o022) throw new SctpdiagError(`${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}): refusing to lock there`, EXIT.FAILURE);
}

let news = 0;

/** Create `path` holding `text`, or throw EEXIST: written under a private name, then linked into place whole. */
async function createWhole(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.new-${process.pid}-${Date.now()}-${++news}`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path); // link(2) never replaces: EEXIST when held
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** A lock or guard file's text: null when gone, '' when it cannot be a record (too large, not a regular file: dead). */
async function readLockText(path: string): Promise<string | null> {
  try {
    return await readRegularFile(path, MAX_BYTES);
  } catch (e) {
    if (e instanceof UnsafeFileError && e.reason === 'missing') return null;
    if (e instanceof UnsafeFileError && ['too-large', 'symlink', 'not-regular'].includes(e.reason)) return '';
    throw e; // EMFILE, EIO, EACCES: no verdict on the holder
  }
}

/** The guard of one takeover: named after the dead lock's name and text (short: a long lock name still fits). */
export function takeoverGuard(path: string, judged: string, level: number): string {
  return join(dirname(path), `.takeover-${createHash('sha256').update(`${basename(path)}\0${judged}`).digest('hex').slice(0, 16)}-${level}`);
}

const GUARD_LEVELS = 8;

/**
 * Remove a dead holder's lock if it still holds the text judged dead. Runs judging the same file pass one at a
 * time through its guard, and nobody removes another run's guard (a killed run's guard is skipped to the next
 * level), so the name cannot change between the compare and the unlink. Else the live run that holds the guard.
 */
async function takeOver(path: string, judged: string, guardRecord: string, probe: Probe): Promise<'removed' | 'changed' | Partial<LockRecord>> {
  let level = 0;
  for (; ; level++) {
    if (level === GUARD_LEVELS) throw new SctpdiagError(`${path}: ${GUARD_LEVELS} takeovers of it were killed; remove its .takeover-* files by hand`, EXIT.FAILURE);
    try {
      await createWhole(takeoverGuard(path, judged, level), guardRecord);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const g = await readLockText(takeoverGuard(path, judged, level));
    if (g === null) return 'changed'; // its run finished: the lock is gone or another's now
    const holder = parseRecord(g) ?? {};
    if (holderAlive(holder, probe)) return holder;
  }
  try {
    if ((await readLockText(path)) !== judged) return 'changed';
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SctpdiagError(`cannot remove the dead holder's lock ${path}: ${(e as Error).message}`, EXIT.FAILURE);
  } finally {
    for (let l = level; l >= 0; l--) await unlink(takeoverGuard(path, judged, l)).catch(() => undefined);
  }
  return 'removed';
}

/** Held: remove what killed runs left — guards and temporary files of dead processes (nobody can need them now). */
async function sweep(dir: string, probe: Probe): Promise<void> {
  for (const name of await readdir(dir).catch((): string[] => [])) {
    const p = join(dir, name);
    if (name.startsWith('.takeover-')) {
      const g = await readLockText(p).catch(() => null);
      if (g !== null && !holderAlive(parseRecord(g) ?? {}, probe)) await unlink(p).catch(() => undefined);
    } else if (name.startsWith('.new-')) {
      const pid = Number(name.split('-')[1]);
      if (!holderAlive({ pid }, probe)) await unlink(p).catch(() => undefined);
    }
  }
}

/** Removes the file if it is still ours; synchronous, so an exit handler can call it. */
function releaser(path: string, me: Holder): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // only our own: a takeover after a (wrong) stale verdict must not be undone by us
    let cur: Partial<LockRecord> | null = null;
    try {
      cur = parseRecord(readRegularFileSync(path, MAX_BYTES));
    } catch {
      return;
    }
    if (cur?.pid === me.pid && cur.startTime === me.startTime) {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  };
}

/** Take the lock, waiting up to waitMs for a live holder; a dead holder's lock is taken over. */
export async function acquireLock(o: LockOptions): Promise<Lock> {
  const probe = o.probe ?? realProbe;
  await prepareDir(o.dir, o.rootDir ?? false);
  const path = join(o.dir, o.name);
  const me = selfHolder(probe, o.pid);
  const mine = JSON.stringify({ ...me, what: o.what, netns: o.netns, since: new Date().toISOString() } satisfies LockRecord) + '\n';
  const deadline = Date.now() + o.waitMs;
  let replacedStale: Partial<LockRecord> | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      await createWhole(path, mine);
      await sweep(o.dir, probe);
      return { path, replacedStale, release: releaser(path, me) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await lstat(path).catch(() => null);
    if (!st) continue; // released meanwhile
    if (!st.isFile()) throw new SctpdiagError(`${path} is not a regular file: refusing to touch it`, EXIT.FAILURE);
    // read without following a link swapped in after the lstat
    const text = await readLockText(path);
    if (text === null) continue; // released meanwhile
    let held = parseRecord(text) ?? {};
    if (!holderAlive(held, probe)) {
      const t = await takeOver(path, text, mine, probe);
      if (t === 'removed') replacedStale = held;
      if (typeof t === 'string') continue;
      held = t; // another run is taking it over: wait for that run as for a holder
    }
    if (Date.now() >= deadline) throw o.busy(held, path);
    await sleep(Math.min(100 + attempt * 20, 500));
  }
}
