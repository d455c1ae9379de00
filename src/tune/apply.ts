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
import { open, readFile, rename, unlink, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EXIT, SctpdiagError } from '../errors.js';
import { fullName, normaliseValue, sysctlDir } from '../kernel/sysctl-catalog.js';
import { orderWrites, type Write } from './plan.js';

/** Reads and writes net.sctp values; tests inject failures here. */
export interface SysctlIO {
  read(key: string): Promise<string>;
  write(key: string, value: string): Promise<void>;
}

/** The real thing: `${procRoot}/sys/net/sctp/<key>`. */
export function procSysctlIO(procRoot: string): SysctlIO {
  const dir = sysctlDir(procRoot);
  return {
    async read(key) {
      return normaliseValue(await readFile(join(dir, key), 'utf8'));
    },
    async write(key, value) {
      // O_WRONLY|O_TRUNC without O_CREAT: never creates a file that the kernel does not have
      const fh = await open(join(dir, key), 'r+');
      try {
        // procfs files report size 0; a regular file (a test tree) must lose its old text
        if ((await fh.stat()).size > 0) await fh.truncate(0);
        await fh.write(value + '\n', 0);
      } finally {
        await fh.close();
      }
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
  startedAt: string;
  finishedAt?: string;
  originals: Write[];
  planned: Write[];
  error?: string;
  /** --persist: the sysctl.d file and its previous content (null = did not exist) */
  persist?: { file: string; previous: string | null };
}

/** Write a file atomically: temp file in the same dir, fsync, rename, fsync the dir. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  try {
    const d = await open(dir, 'r');
    await d.sync().catch(() => undefined);
    await d.close();
  } catch {
    /* some filesystems refuse to fsync a directory */
  }
}

/** Where tune keeps its journal: --state-dir, else $SCTPDIAG_STATE_DIR, else this. */
export const DEFAULT_STATE_DIR = '/var/lib/sctpdiag';

export function resolveStateDir(option: string | undefined, env = process.env): string {
  return option ?? env.SCTPDIAG_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function journalPath(stateDir: string, netns: string | null): string {
  const ns = (netns ?? 'init').replace(/[^A-Za-z0-9._-]/g, '_');
  return join(stateDir, `journal-${ns}.json`);
}

export async function readJournal(stateDir: string, netns: string | null): Promise<Journal | null> {
  let text: string;
  try {
    text = await readFile(journalPath(stateDir, netns), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j.version !== 1 || !Array.isArray(j.originals)) throw new Error('unknown journal format');
    return j;
  } catch (e) {
    throw new SctpdiagError(`journal ${journalPath(stateDir, netns)} is corrupt: ${(e as Error).message}`, EXIT.FAILURE, 'inspect it and restore the values by hand, then delete it');
  }
}

async function saveJournal(stateDir: string, j: Journal): Promise<void> {
  await writeFileAtomic(journalPath(stateDir, j.netns === 'init' ? null : j.netns), JSON.stringify(j, null, 2) + '\n', 0o600);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
export async function detectInterrupted(stateDir: string, netns: string | null): Promise<Interrupted | null> {
  const j = await readJournal(stateDir, netns);
  if (!j || j.status !== 'in-progress') return null;
  return { journal: journalPath(stateDir, netns), profile: j.profile, pid: j.pid, startedAt: j.startedAt, running: j.pid !== process.pid && pidAlive(j.pid) };
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
  /** pause after each write (tests use it to SIGKILL mid-apply) */
  delayMs?: number;
}

export interface ApplyResult {
  journal: string;
  written: Change[];
  persisted: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Apply `writes` as one transaction. Throws APPLY_FAILED after restoring on failure. */
export async function applyWrites(o: ApplyOptions): Promise<ApplyResult> {
  const jfile = journalPath(o.stateDir, o.netns);
  const pending = await detectInterrupted(o.stateDir, o.netns);
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
    startedAt: new Date().toISOString(),
    originals,
    planned: [...o.writes],
  };
  if (o.persist) journal.persist = { file: o.persist.file, previous: await readOrNull(o.persist.file) };
  if (o.writes.length === 0 && !o.persist) return { journal: jfile, written: [], persisted: null };
  await saveJournal(o.stateDir, journal);

  const written: Change[] = [];
  let failure: string | null = null;
  for (const w of o.writes) {
    try {
      await writeChecked(o.io, w);
      written.push({ key: w.key, from: originals.find((x) => x.key === w.key)!.value, to: w.value });
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).code}` : (e as Error).message;
      failure = `writing ${fullName(w.key)} = ${w.value} failed: ${msg}`;
      break;
    }
    if (o.delayMs) await sleep(o.delayMs);
  }
  let persisted: string | null = null;
  if (!failure && o.persist) {
    try {
      await writeFileAtomic(o.persist.file, o.persist.content);
      persisted = o.persist.file;
    } catch (e) {
      failure = `writing ${o.persist.file} failed: ${(e as Error).message}`;
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
  journal.status = 'applied';
  journal.finishedAt = new Date().toISOString();
  await saveJournal(o.stateDir, journal);
  return { journal: jfile, written, persisted };
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
export async function rollback(o: { io: SysctlIO; stateDir: string; netns: string | null }): Promise<RollbackResult> {
  const jfile = journalPath(o.stateDir, o.netns);
  const j = await readJournal(o.stateDir, o.netns);
  if (!j) throw new SctpdiagError(`nothing to roll back: no journal ${jfile}`, EXIT.NOT_FOUND);
  if (j.status === 'rolled-back') throw new SctpdiagError(`nothing to roll back: the last apply (${j.profile}, ${j.startedAt}) was already rolled back`, EXIT.NOT_FOUND);
  if (j.status === 'in-progress' && j.pid !== process.pid && pidAlive(j.pid))
    throw new SctpdiagError(`apply pid ${j.pid} is still running`, EXIT.FAILURE, 'wait for it to finish, then roll back');
  const interrupted = j.status === 'in-progress';
  const { restored, failed } = await restore(o.io, j.originals);
  let persist: RollbackResult['persist'] = null;
  if (j.persist) {
    if (j.persist.previous === null) {
      await unlink(j.persist.file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') failed.push({ key: j.persist!.file, error: e.message });
      });
      persist = { file: j.persist.file, action: 'removed' };
    } else {
      await writeFileAtomic(j.persist.file, j.persist.previous).catch((e: Error) => failed.push({ key: j.persist!.file, error: e.message }));
      persist = { file: j.persist.file, action: 'restored' };
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
