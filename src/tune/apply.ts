/**
 * Transactional apply, rollback, crash detection and persistence.
 *
 * Journal (one per netns) in the state dir, written atomically and fsynced
 * BEFORE the first sysctl write:
 *   { status: "in-progress", originals: [{key, value}], planned: [...] }
 * then each planned value is written and read back. On any failure every key
 * of the journal is restored (in a kernel-safe order) and the journal marked
 * "failed". On success it is marked "applied". A journal left "in-progress"
 * (crash, SIGKILL) is reported by the next run and undone by rollback().
 * rollback() restores the originals of the last journal ("applied" or
 * interrupted), and the /etc/sysctl.d file as it was before --persist.
 */
import { lstat, unlink, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { EXIT, SctpdiagError } from '../errors.js';
import { fullName, lookupKey, normaliseValue, validateValue } from '../kernel/sysctl-catalog.js';
import { sysctlDir } from '../procfs/sysctls.js';
import { readRegularFile, readRegularFileOrNull, UnsafeFileError, writeExistingFileNoFollow, writeFileAtomicNoFollow } from '../safefs.js';
import { acquireLock, holderAlive, selfHolder, type Holder, type Lock } from '../lock.js';
import { orderWrites, type Write } from './plan.js';

/** The one file --persist writes, in the sysctl.d directory; a journal naming any other is refused. */
export const PERSIST_FILE = '90-sctpdiag.conf';
/** a journal, a sysctl value or a persist file larger than this is not ours */
const JOURNAL_MAX_BYTES = 1 << 20;
const SYSCTL_MAX_BYTES = 4096;

/** A key we may touch: in the catalog and a plain file name (never `..` or a path). */
function checkedKey(key: string): string {
  if (!/^[a-z0-9_]+$/.test(key) || !lookupKey(key)) throw new SctpdiagError(`refusing net.sctp key ${JSON.stringify(key)}: not in the catalog`, EXIT.USAGE);
  return key;
}

/** Reads and writes net.sctp values; tests inject failures here. */
export interface SysctlIO {
  read(key: string): Promise<string>;
  write(key: string, value: string): Promise<void>;
}

/** The real thing: `${procRoot}/sys/net/sctp/<key>`: catalog keys only, never through a symlink (a --proc-root tree is untrusted). */
export function procSysctlIO(procRoot: string): SysctlIO {
  const dir = sysctlDir(procRoot);
  return {
    async read(key) {
      return normaliseValue(await readRegularFile(join(dir, checkedKey(key)), SYSCTL_MAX_BYTES));
    },
    async write(key, value) {
      // without O_CREAT: never creates a file that the kernel does not have
      await writeExistingFileNoFollow(join(dir, checkedKey(key)), value + '\n');
    },
  };
}

export type JournalStatus = 'in-progress' | 'applied' | 'failed' | 'rolled-back';

export interface Journal {
  version: 1;
  id: string;
  /** netns name or "init" */
  netns: string;
  profile: string;
  status: JournalStatus;
  pid: number;
  /** the applying process (pid, start time, boot id): a reused PID is not mistaken for it */
  holder?: Holder;
  startedAt: string;
  finishedAt?: string;
  originals: Write[];
  planned: Write[];
  error?: string;
  /** --persist: the sysctl.d file and its previous content (null = did not exist) */
  persist?: { file: string; previous: string | null };
}

/** Where tune keeps its journal: --state-dir, else $SCTPDIAG_STATE_DIR, else this. */
export const DEFAULT_STATE_DIR = '/var/lib/sctpdiag';

export function resolveStateDir(option: string | undefined, env = process.env): string {
  return option ?? env.SCTPDIAG_STATE_DIR ?? DEFAULT_STATE_DIR;
}

/** One apply or rollback at a time per netns, held for the whole transaction (originals read, writes, journal). */
export function lockPath(stateDir: string, netns: string | null): string {
  return join(stateDir, `tune-${nsFileId(netns)}.lock`);
}

/** A netns name in a file name; a netns name may be 255 bytes, so a long one is cut and told apart by a hash. */
function nsFileId(netns: string | null): string {
  const id = (netns ?? 'init').replace(/[^A-Za-z0-9._-]/g, '_');
  return id.length <= 64 ? id : `${id.slice(0, 40)}-${createHash('sha256').update(netns!).digest('hex').slice(0, 16)}`;
}

/** Take the tune lock, waiting up to waitMs for a live holder; throws BUSY naming the holder. */
export function acquireTuneLock(stateDir: string, netns: string | null, waitMs: number, what: string): Promise<Lock> {
  return acquireLock({
    dir: stateDir,
    name: basename(lockPath(stateDir, netns)),
    what,
    netns,
    waitMs,
    rootDir: true, // its journals are applied back by --rollback: a directory others can write is refused
    busy: (h, path) =>
      new SctpdiagError(
        `another tune ${h.what ?? 'apply or rollback'} (pid ${h.pid}${h.since ? `, since ${h.since}` : ''}) holds ${path}`,
        EXIT.BUSY,
        waitMs > 0 ? `waited ${Math.round(waitMs / 1000)} s; try again when it has finished (--wait S waits longer)` : 'try again when it has finished, or give --wait S',
      ),
  });
}

export function journalPath(stateDir: string, netns: string | null): string {
  return join(stateDir, `journal-${nsFileId(netns)}.json`);
}

/**
 * Check a journal before acting on it: it says which keys rollback writes and
 * which file it restores, so a forged one must not name anything else.
 * Returns what is wrong, or null.
 */
export function journalProblem(j: unknown, persistFile?: string): string | null {
  if (typeof j !== 'object' || j === null) return 'not a JSON object';
  const o = j as Record<string, unknown>;
  if (o.version !== 1) return 'unknown journal format';
  const statuses: JournalStatus[] = ['in-progress', 'applied', 'failed', 'rolled-back'];
  if (!statuses.includes(o.status as JournalStatus)) return 'unknown status';
  if (typeof o.profile !== 'string' || typeof o.startedAt !== 'string' || !Number.isInteger(o.pid)) return 'missing profile, startedAt or pid';
  for (const list of ['originals', 'planned'] as const) {
    const writes = o[list];
    if (!Array.isArray(writes)) return `${list} is not a list`;
    for (const w of writes as unknown[]) {
      const k = (w as Write | null)?.key;
      const v = (w as Write | null)?.value;
      if (typeof k !== 'string' || typeof v !== 'string') return `${list}: an entry without key or value`;
      if (!/^[a-z0-9_]+$/.test(k) || !lookupKey(k)) return `${list}: ${JSON.stringify(k.slice(0, 80))} is not a net.sctp key`;
      const ok = validateValue(k, v);
      if (!ok.ok) return `${list}: ${ok.error}`;
    }
  }
  if (o.persist !== undefined) {
    const p = o.persist as { file?: unknown; previous?: unknown } | null;
    if (typeof p !== 'object' || p === null || typeof p.file !== 'string') return 'persist without a file';
    if (persistFile !== undefined ? p.file !== persistFile : basename(p.file) !== PERSIST_FILE)
      return `persist file ${JSON.stringify(p.file.slice(0, 200))} is not the one sctpdiag writes (${persistFile ?? PERSIST_FILE})`;
    if (p.previous !== null && typeof p.previous !== 'string') return 'persist.previous is neither text nor null';
  }
  return null;
}

export async function readJournal(stateDir: string, netns: string | null, opts: { persistFile?: string } = {}): Promise<Journal | null> {
  const file = journalPath(stateDir, netns);
  const corrupt = (why: string) => new SctpdiagError(`journal ${file} is corrupt: ${why}`, EXIT.FAILURE, 'inspect it and restore the values by hand, then delete it');
  let text: string | null;
  try {
    text = await readRegularFileOrNull(file, JOURNAL_MAX_BYTES);
  } catch (e) {
    if (e instanceof UnsafeFileError) throw corrupt(e.message);
    throw e;
  }
  if (text === null) return null;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw corrupt((e as Error).message);
  }
  const problem = journalProblem(j, opts.persistFile);
  if (problem) throw corrupt(problem);
  return j as Journal;
}

async function saveJournal(stateDir: string, j: Journal): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomicNoFollow(journalPath(stateDir, j.netns === 'init' ? null : j.netns), JSON.stringify(j, null, 2) + '\n', 0o600);
}

/** The process that wrote an in-progress journal still runs (same boot, same start time). */
function applierAlive(j: Journal): boolean {
  if (j.pid === process.pid && (!j.holder || j.holder.startTime === selfHolder().startTime)) return false;
  return holderAlive(j.holder ?? { pid: j.pid });
}

export interface Interrupted {
  journal: string;
  profile: string;
  pid: number;
  startedAt: string;
  /** the pid is still running (another apply in progress) */
  running: boolean;
}

/** An apply that never finished (crash / SIGKILL), or one still running. */
export async function detectInterrupted(stateDir: string, netns: string | null, persistFile?: string): Promise<Interrupted | null> {
  const j = await readJournal(stateDir, netns, { persistFile });
  if (!j || j.status !== 'in-progress') return null;
  return { journal: journalPath(stateDir, netns), profile: j.profile, pid: j.pid, startedAt: j.startedAt, running: applierAlive(j) };
}

export interface Change {
  key: string;
  from: string;
  to: string;
}

export interface ApplyOptions {
  io: SysctlIO;
  stateDir: string;
  netns: string | null;
  profile: string;
  writes: readonly Write[];
  /** write the persist file too (inside the same transaction) */
  persist?: { file: string; content: string };
  /** the exact persist path (journal check) */
  persistFile?: string;
}

export interface ApplyResult {
  journal: string;
  written: Change[];
  persisted: string | null;
}

async function writeChecked(io: SysctlIO, w: Write): Promise<void> {
  await io.write(w.key, w.value);
  const back = await io.read(w.key);
  if (normaliseValue(back) !== normaliseValue(w.value)) throw new Error(`read back "${back}" after writing "${w.value}"`);
}

/**
 * Restore `originals` (only keys whose live value differs), in a kernel-safe
 * order. Returns what was restored and what could not be.
 */
async function restore(io: SysctlIO, originals: readonly Write[]): Promise<{ restored: Change[]; failed: Array<{ key: string; error: string }> }> {
  const live: Record<string, string> = {};
  const failed: Array<{ key: string; error: string }> = [];
  for (const o of originals) {
    try {
      live[o.key] = await io.read(o.key);
    } catch (e) {
      failed.push({ key: o.key, error: `cannot read: ${(e as Error).message}` });
    }
  }
  const todo = originals.filter((o) => live[o.key] !== undefined && normaliseValue(live[o.key]!) !== normaliseValue(o.value));
  let ordered: Write[];
  try {
    ordered = orderWrites(live, todo);
  } catch {
    ordered = [...todo]; // best effort: try anyway, report what fails
  }
  const restored: Change[] = [];
  const retry: Write[] = [];
  for (const w of ordered) {
    try {
      await writeChecked(io, w);
      restored.push({ key: w.key, from: live[w.key]!, to: w.value });
    } catch {
      retry.push(w);
    }
  }
  // a second pass catches order problems (e.g. a bound that moved meanwhile)
  for (const w of retry) {
    try {
      await writeChecked(io, w);
      restored.push({ key: w.key, from: live[w.key]!, to: w.value });
    } catch (e) {
      failed.push({ key: w.key, error: (e as Error).message });
    }
  }
  return { restored, failed };
}

/** SIGINT/SIGTERM during an apply: stop writing, restore, exit 7 (instead of dying half-applied). */
function trapSignals(): { signal: () => NodeJS.Signals | null; release: () => void } {
  let got: NodeJS.Signals | null = null;
  const on = (s: NodeJS.Signals) => () => {
    got ??= s;
  };
  const int = on('SIGINT');
  const term = on('SIGTERM');
  process.on('SIGINT', int);
  process.on('SIGTERM', term);
  return {
    signal: () => got,
    release: () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    },
  };
}

/** Apply `writes` as one transaction. Throws APPLY_FAILED after restoring on failure. */
export async function applyWrites(o: ApplyOptions): Promise<ApplyResult> {
  const jfile = journalPath(o.stateDir, o.netns);
  const pending = await detectInterrupted(o.stateDir, o.netns, o.persistFile);
  if (pending) {
    throw new SctpdiagError(
      pending.running
        ? `another apply (pid ${pending.pid}, profile ${pending.profile}) is in progress`
        : `an interrupted apply of profile ${pending.profile} (pid ${pending.pid}, ${pending.startedAt}) left ${pending.journal}`,
      EXIT.FAILURE,
      pending.running ? 'wait for it to finish' : 'run `sctpdiag tune --rollback` to restore the values saved before it',
    );
  }
  // originals, read fresh, saved before the first write
  const originals: Write[] = [];
  for (const w of o.writes) originals.push({ key: w.key, value: await o.io.read(w.key) });
  const journal: Journal = {
    version: 1,
    id: randomUUID(),
    netns: o.netns ?? 'init',
    profile: o.profile,
    status: 'in-progress',
    pid: process.pid,
    holder: selfHolder(),
    startedAt: new Date().toISOString(),
    originals,
    planned: [...o.writes],
  };
  if (o.persist) journal.persist = { file: o.persist.file, previous: await readPersisted(o.persist.file) };
  if (o.writes.length === 0 && !o.persist) return { journal: jfile, written: [], persisted: null };
  await saveJournal(o.stateDir, journal);

  const written: Change[] = [];
  let failure: string | null = null;
  const signals = trapSignals();
  try {
    for (const w of o.writes) {
      const sig = signals.signal();
      if (sig) {
        failure = `interrupted by ${sig} before writing ${fullName(w.key)}`;
        break;
      }
      try {
        await writeChecked(o.io, w);
        written.push({ key: w.key, from: originals.find((x) => x.key === w.key)!.value, to: w.value });
      } catch (e) {
        const msg = e instanceof SctpdiagError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
        failure = `writing ${fullName(w.key)} = ${w.value} failed: ${msg}`;
        break;
      }
    }
    let persisted: string | null = null;
    if (!failure && signals.signal()) failure = `interrupted by ${signals.signal()}`;
    if (!failure && o.persist) {
      try {
        await mkdir(dirname(o.persist.file), { recursive: true });
        await writeFileAtomicNoFollow(o.persist.file, o.persist.content, 0o644);
        persisted = o.persist.file;
      } catch (e) {
        failure = `writing ${o.persist.file} failed: ${(e as Error).message}`;
      }
    }
    if (!failure) {
      journal.status = 'applied';
      journal.finishedAt = new Date().toISOString();
      try {
        await saveJournal(o.stateDir, journal);
      } catch (e) {
        // every key is written but nothing records it: undo, so the journal's "in-progress" stays true to the kernel
        failure = `saving the journal ${jfile} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
        if (persisted) await restorePersist(journal.persist!).catch(() => undefined);
        persisted = null;
      }
    }
    if (failure) {
      const { restored, failed } = await restore(o.io, originals);
      journal.status = 'failed';
      journal.finishedAt = new Date().toISOString();
      journal.error = failure;
      await saveJournal(o.stateDir, journal).catch(() => undefined);
      const restoredText = `${written.length} key(s) had been written; restored ${restored.length}`;
      if (failed.length > 0) {
        throw new SctpdiagError(
          `${failure}; ${restoredText}; could NOT restore ${failed.map((f) => `${fullName(f.key)} (${f.error})`).join(', ')}`,
          EXIT.APPLY_FAILED,
          `the original values are in ${jfile}`,
        );
      }
      throw new SctpdiagError(`${failure}; ${restoredText}: every key is back to its value before the apply`, EXIT.APPLY_FAILED);
    }
    return { journal: jfile, written, persisted };
  } finally {
    signals.release();
  }
}

/** The persist file's current text (null: absent); a symlink or non-regular file there is refused. */
async function readPersisted(file: string): Promise<string | null> {
  const st = await lstat(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
  if (st === null) return null;
  return readRegularFile(file, JOURNAL_MAX_BYTES);
}

/** Put the persist file back as the journal saw it before the apply. */
async function restorePersist(p: NonNullable<Journal['persist']>): Promise<'restored' | 'removed'> {
  if (p.previous === null) {
    const st = await lstat(p.file).catch(() => null);
    if (st && !st.isFile()) throw new SctpdiagError(`refusing to remove ${p.file}: it is not a regular file`, EXIT.USAGE);
    await unlink(p.file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    return 'removed';
  }
  await writeFileAtomicNoFollow(p.file, p.previous, 0o644);
  return 'restored';
}

export interface RollbackResult {
  journal: string;
  profile: string;
  /** the journal was left by an interrupted apply */
  interrupted: boolean;
  restored: Change[];
  persist: { file: string; action: 'restored' | 'removed' } | null;
}

/** Restore the values saved before the last apply (finished or interrupted). */
export async function rollback(o: { io: SysctlIO; stateDir: string; netns: string | null; persistFile?: string }): Promise<RollbackResult> {
  const jfile = journalPath(o.stateDir, o.netns);
  const j = await readJournal(o.stateDir, o.netns, { persistFile: o.persistFile });
  if (!j) throw new SctpdiagError(`nothing to roll back: no journal ${jfile}`, EXIT.NOT_FOUND);
  if (j.status === 'rolled-back') throw new SctpdiagError(`nothing to roll back: the last apply (${j.profile}, ${j.startedAt}) was already rolled back`, EXIT.NOT_FOUND);
  if (j.status === 'in-progress' && applierAlive(j))
    throw new SctpdiagError(`apply pid ${j.pid} is still running`, EXIT.FAILURE, 'wait for it to finish, then roll back');
  const interrupted = j.status === 'in-progress';
  const { restored, failed } = await restore(o.io, j.originals);
  let persist: RollbackResult['persist'] = null;
  if (j.persist) {
    try {
      persist = { file: j.persist.file, action: await restorePersist(j.persist) };
    } catch (e) {
      failed.push({ key: j.persist.file, error: (e as Error).message });
    }
  }
  if (failed.length > 0) {
    throw new SctpdiagError(
      `rollback incomplete: could not restore ${failed.map((f) => `${f.key} (${f.error})`).join(', ')}; restored ${restored.length}`,
      EXIT.APPLY_FAILED,
      `the original values are in ${jfile}`,
    );
  }
  j.status = 'rolled-back';
  j.finishedAt = new Date().toISOString();
  await saveJournal(o.stateDir, j);
  return { journal: jfile, profile: j.profile, interrupted, restored, persist };
}

/**
 * The /etc/sysctl.d file for a profile: every value the profile sets (present
 * on this kernel), ordered so that `sysctl --system` can apply it from the
 * kernel defaults.
 */
export function persistContent(profile: string, values: readonly Write[], startFrom: Readonly<Record<string, string | undefined>>, reasons: ReadonlyMap<string, string> = new Map()): string {
  const ordered = orderWrites(startFrom, values);
  const lines = [
    `# Written by \`sctpdiag tune --profile ${profile} --persist\` on ${new Date().toISOString()}.`,
    '# Reproduced at boot by systemd-sysctl / `sysctl --system` — but only if the sctp module is',
    '# loaded before it runs (e.g. list "sctp" in /etc/modules-load.d/sctp.conf).',
    '# Order matters: the kernel requires rto_min <= rto_max and pf_retrans <= ps_retrans at every step.',
    '# Undo with `sctpdiag tune --rollback` (right after the apply) or delete this file.',
    '',
  ];
  for (const w of ordered) {
    const r = reasons.get(w.key);
    if (r) lines.push(`# ${r}`);
    lines.push(`${fullName(w.key)} = ${w.value}`);
  }
  return lines.join('\n') + '\n';
}
