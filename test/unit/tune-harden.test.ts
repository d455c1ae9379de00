/**
 * Issue #13 items 3, 4, 5, 10: tune serialised by a lock (real processes),
 * stale locks and reused PIDs, a failed final journal save and a signal
 * mid-apply restore and exit 7, no writes or reads through symlinks, forged
 * journals refused, profile files never echoed, capture staging by mkdtemp.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { access, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { readSysctls } from '../../src/procfs/sysctls.js';
import { acquireTuneLock, applyWrites, journalPath, lockPath, procSysctlIO, readJournal, type Journal, type SysctlIO } from '../../src/tune/apply.js';
import { holderAlive, selfHolder } from '../../src/lock.js';
import { collectTune, type TuneEnv } from '../../src/commands/tune.js';
import { capture as captureDir } from '../../src/commands/capture.js';
import { CLI, ROOT, capture, fakeTuneHost } from '../helpers.js';

const fakeHost = fakeTuneHost;

const values = async (proc: string) => Object.fromEntries((await readSysctls(proc))!);

const isErr = (code: number, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof SctpdiagError, String(e));
  assert.equal(e.exitCode, code, e.message);
  assert.match(e.message, re);
  return true;
};

function cli(env: TuneEnv, args: string[], extraEnv: Record<string, string> = {}): ReturnType<typeof spawnCli> {
  return spawnCli([CLI, '--proc-root', env.procRoot, 'tune', '--state-dir', env.stateDir, '--profile-dir', env.profileDirs.user, '--sysctl-dir', env.sysctlD, ...args], extraEnv);
}

function spawnCli(argv: string[], extraEnv: Record<string, string>): ChildProcess & { result: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', SCTPDIAG_NETNS: '', ...extraEnv } });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = new Promise<{ code: number | null; out: string; err: string }>((r) => child.on('close', (code) => r({ code, out, err })));
  return Object.assign(child, { result });
}

/** `tune --apply` with every sysctl write taking `delayMs` (test/tune-slow.ts): an apply caught in the middle. */
function slowApply(env: TuneEnv, profile: string, delayMs: number): ReturnType<typeof cli> {
  return spawnCli(
    [join(ROOT, 'dist', 'test', 'tune-slow.js'), '--proc-root', env.procRoot, '--state-dir', env.stateDir, '--profile-dir', env.profileDirs.user, '--sysctl-dir', env.sysctlD, '--profile', profile, '--delay-ms', String(delayMs)],
    {},
  );
}

async function until(cond: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    assert.ok(Date.now() < deadline, `never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const exists = (p: string) => access(p).then(() => true, () => false);

test('lock, real processes: a second apply exits 10 with --wait 0, or waits and then applies on top of the first; rollback restores the first', async () => {
  const { proc, env } = await fakeHost();
  // what the host looks like after telecom alone (a second fake host, in-process)
  const ref = await fakeHost();
  await collectTune({ profile: 'telecom', apply: true }, ref.env);
  const afterTelecom = await values(ref.proc);

  const a = slowApply(env, 'telecom', 150);
  await until(() => exists(lockPath(env.stateDir, null)), 'the first apply holds the lock');
  const b = await cli(env, ['--profile', 'wan', '--apply', '--wait', '0']).result;
  assert.equal(b.code, EXIT.BUSY, b.err);
  assert.match(b.err, new RegExp(`another tune apply \\(pid ${a.pid}`));
  const c = cli(env, ['--profile', 'wan', '--apply', '--wait', '600']);
  const [ra, rc] = await Promise.all([a.result, c.result]);
  assert.equal(ra.code, 0, ra.err);
  assert.equal(rc.code, 0, rc.err);
  const j = (await readJournal(env.stateDir, null))!;
  assert.equal(j.profile, 'wan');
  // wan's originals are what telecom left: the two applies did not interleave
  for (const o of j.originals) assert.equal(o.value, afterTelecom[o.key], `original of ${o.key}`);
  for (const w of j.planned) assert.equal((await values(proc))[w.key], w.value);
  const rb = await cli(env, ['--rollback']).result;
  assert.equal(rb.code, 0, rb.err);
  assert.deepEqual(await values(proc), afterTelecom);
  assert.equal(await exists(lockPath(env.stateDir, null)), false, 'the lock is released');
});

test('lock: a dead holder, a reused PID or a holder from another boot does not block; a live one does', async () => {
  const { env } = await fakeHost();
  await mkdir(env.stateDir, { recursive: true });
  const lock = lockPath(env.stateDir, null);
  const me = selfHolder();
  assert.ok(me.startTime && me.bootId, 'this host has /proc/self/stat and a boot id');
  const stale = [
    { pid: 2 ** 22 + 12345, startTime: '1', bootId: me.bootId }, // no such process
    { pid: process.pid, startTime: String(Number(me.startTime) + 1), bootId: me.bootId }, // our PID, another process's start
    { pid: 1, startTime: null, bootId: 'another-boot' }, // PID 1 lives, but this was before a reboot
    'not json at all',
  ];
  for (const h of stale) {
    await writeFile(lock, typeof h === 'string' ? h : JSON.stringify({ ...h, what: 'apply' }));
    const l = await acquireTuneLock(env.stateDir, null, 0, 'apply');
    assert.equal(JSON.parse(await readFile(lock, 'utf8')).pid, process.pid);
    await l.release();
    assert.equal(await exists(lock), false);
  }
  // a live holder: this very process, as recorded by itself
  await writeFile(lock, JSON.stringify({ ...me, what: 'rollback' }));
  await assert.rejects(acquireTuneLock(env.stateDir, null, 0, 'apply'), isErr(EXIT.BUSY, /another tune rollback \(pid \d+/));
  await assert.rejects(collectTune({ profile: 'telecom', apply: true, wait: 0 }, env), isErr(EXIT.BUSY, /holds/));
  await assert.rejects(collectTune({ rollback: true, wait: 0 }, env), isErr(EXIT.BUSY, /holds/));
  assert.equal(holderAlive({ pid: 1, startTime: null, bootId: 'another-boot' }), false);
  assert.equal(holderAlive(me), true);
});

test('journal: an in-progress journal whose PID now belongs to another process (reboot) does not block rollback', async () => {
  const { proc, env } = await fakeHost();
  const before = await values(proc);
  await collectTune({ profile: 'telecom', apply: true }, env);
  const j = (await readJournal(env.stateDir, null))!;
  // as left by a crash before a reboot: pid 1 is alive now, but it is not that apply
  const forged: Journal = { ...j, status: 'in-progress', pid: 1, holder: { pid: 1, startTime: '42', bootId: 'boot-before-the-reboot' } };
  await writeFile(journalPath(env.stateDir, null), JSON.stringify(forged));
  const r = await collectTune({ rollback: true }, env);
  assert.equal(r.rollback?.interrupted, true);
  assert.deepEqual(await values(proc), before);
});

test('a failed final journal save after every write: values restored, exit 7', async () => {
  const { proc, env } = await fakeHost();
  const before = await values(proc);
  const real = procSysctlIO(proc);
  const writes = [{ key: 'rto_min', value: '100' }, { key: 'rto_max', value: '1000' }];
  let n = 0;
  const io: SysctlIO = {
    read: (k) => real.read(k),
    async write(k, v) {
      await real.write(k, v);
      // after the last write the journal path turns into a directory: the final save fails
      if (++n === writes.length) {
        await rm(journalPath(env.stateDir, null));
        await mkdir(journalPath(env.stateDir, null));
      }
    },
  };
  await assert.rejects(applyWrites({ io, stateDir: env.stateDir, netns: null, profile: 'x', writes }), isErr(EXIT.APPLY_FAILED, /saving the journal .* failed.*every key is back/));
  assert.deepEqual(await values(proc), before);
});

test('SIGTERM in the middle of an apply (real process): restores every key and exits 7', async () => {
  const { proc, env } = await fakeHost();
  const before = await values(proc);
  const a = slowApply(env, 'telecom', 400);
  await until(async () => {
    const v = await values(proc);
    return Object.keys(before).some((k) => v[k] !== before[k]);
  }, 'the apply wrote a key');
  a.kill('SIGTERM');
  const r = await a.result;
  assert.equal(r.code, EXIT.APPLY_FAILED, r.err);
  assert.match(r.err, /interrupted by SIGTERM/);
  assert.deepEqual(await values(proc), before);
  assert.equal((await readJournal(env.stateDir, null))?.status, 'failed');
});

test('--proc-root: apply does not write through a symlink; nothing outside the tree changes', async () => {
  const { root, proc, env } = await fakeHost();
  const victim = join(root, 'victim');
  await writeFile(victim, 'precious\n');
  const f = join(proc, 'sys/net/sctp/rto_min');
  await rm(f);
  await symlink(victim, f);
  await assert.rejects(collectTune({ profile: 'telecom', apply: true }, env), (e: unknown) => e instanceof SctpdiagError && /rto_min: it is a symbolic link/.test(e.message));
  assert.equal(await readFile(victim, 'utf8'), 'precious\n');
  // the sysctl command reads the same way: a clear error, not the target's content
  const r = spawnSync(process.execPath, [CLI, '--proc-root', proc, 'sysctl'], { encoding: 'utf8' });
  assert.equal(r.status, EXIT.USAGE, r.stderr);
  assert.match(r.stderr, /rto_min: it is a symbolic link/);
  assert.doesNotMatch(r.stdout + r.stderr, /precious/);
});

test('rollback refuses a forged journal: keys outside the catalog, a persist file other than ours', async () => {
  const { root, proc, env } = await fakeHost();
  await collectTune({ profile: 'telecom', apply: true }, env);
  const good = (await readJournal(env.stateDir, null))!;
  const cron = join(root, 'cron.d-x');
  const forgeries: Array<[Partial<Journal>, RegExp]> = [
    [{ originals: [{ key: '../../../../etc/passwd', value: '1' }] }, /is not a net\.sctp key/],
    [{ originals: [{ key: 'rto_min', value: '1; reboot' }] }, /rto_min: "1; reboot" is not an integer/],
    [{ persist: { file: cron, previous: '* * * * * root sh -c pwned\n' } }, /is not the one sctpdiag writes/],
    [{ persist: { file: join(env.sysctlD, '..', 'x', '90-sctpdiag.conf'), previous: 'x' } }, /is not the one sctpdiag writes/],
  ];
  const before = await values(proc);
  for (const [patch, re] of forgeries) {
    await writeFile(journalPath(env.stateDir, null), JSON.stringify({ ...good, ...patch }));
    await assert.rejects(collectTune({ rollback: true }, env), isErr(EXIT.FAILURE, re));
    assert.deepEqual(await values(proc), before);
    assert.equal(await exists(cron), false);
  }
});

test('--persist refuses a symlink at the persist path (the target is untouched)', async () => {
  const { root, env } = await fakeHost();
  await mkdir(env.sysctlD, { recursive: true });
  const victim = join(root, 'shadow');
  await writeFile(victim, 'root:secret\n');
  await symlink(victim, join(env.sysctlD, '90-sctpdiag.conf'));
  await assert.rejects(collectTune({ profile: 'telecom', apply: true, persist: true }, env), (e: unknown) => e instanceof SctpdiagError && /symbolic link/.test(e.message));
  assert.equal(await readFile(victim, 'utf8'), 'root:secret\n');
  assert.ok((await lstat(join(env.sysctlD, '90-sctpdiag.conf'))).isSymbolicLink());
});

test('--profile-file of a file that is no profile (/etc/shadow-like) names file:line, never its content; a FIFO is refused', async () => {
  const { root, env } = await fakeHost();
  const shadow = join(root, 'shadow');
  await writeFile(shadow, 'root:$6$c2VjcmV0:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  const r = spawnSync(process.execPath, [CLI, '--proc-root', env.procRoot, 'tune', '--profile-file', shadow], { encoding: 'utf8' });
  assert.equal(r.status, EXIT.USAGE);
  assert.match(r.stderr, /shadow:1: malformed line/);
  assert.doesNotMatch(r.stdout + r.stderr, /root:|c2VjcmV0|daemon/);
  const fifo = join(root, 'fifo');
  spawnSync('mkfifo', [fifo]);
  const f = spawnSync(process.execPath, [CLI, '--proc-root', env.procRoot, 'tune', '--profile-file', fifo], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(f.status, EXIT.USAGE, f.stderr);
  assert.match(f.stderr, /FIFO/);
});

test('capture: a symlink planted at the old predictable staging name is not written through; DIR as a symlink is refused', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-cap-'));
  const victim = join(root, 'victim');
  await mkdir(victim);
  const dir = join(root, 'case');
  await symlink(victim, `${dir}.tmp-${process.pid}`);
  const r = await captureDir(capture('two-path-a'), dir, null, 250);
  assert.ok(r.files.includes('net/sctp/assocs'));
  assert.deepEqual(await readdir(victim), [], 'nothing written through the planted link');
  assert.ok((await lstat(dir)).isDirectory());
  assert.deepEqual((await readdir(root)).filter((n) => n.includes('.tmp')), [`case.tmp-${process.pid}`], 'no staging directory left');
  // DIR itself a symlink (to an empty directory): refused, nothing written
  const link = join(root, 'linked');
  await symlink(victim, link);
  await assert.rejects(captureDir(capture('two-path-a'), link, null, 250), isErr(EXIT.USAGE, /is a symbolic link/));
  assert.deepEqual(await readdir(victim), []);
});

test('capture of a tree whose sysctl is a symlink (to /etc/shadow): refused, nothing copied', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-cap-'));
  const src = join(root, 'src');
  cpSync(capture('two-path-a'), src, { recursive: true });
  const secret = join(root, 'shadow');
  await writeFile(secret, 'root:secret-hash\n');
  await rm(join(src, 'sys/net/sctp/rto_min'));
  await symlink(secret, join(src, 'sys/net/sctp/rto_min'));
  const out = join(root, 'out');
  await assert.rejects(captureDir(src, out, null, 250), (e: unknown) => e instanceof SctpdiagError && /rto_min: it is a symbolic link/.test(e.message));
  assert.equal(await exists(out), false);
  assert.deepEqual((await readdir(root)).sort(), ['shadow', 'src']);
});
