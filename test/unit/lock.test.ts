/**
 * tune and drill lock through one module (src/lock.ts): separate files (a drill
 * does not wait for a tune), one record format, one liveness rule.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, chown, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { acquireTuneLock, lockPath } from '../../src/tune/apply.js';
import { acquireDrillLock } from '../../src/commands/drill.js';
import { acquireLock, selfHolder, takeoverGuard } from '../../src/lock.js';

const busy = (re: RegExp) => (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.BUSY && re.test(e.message);
const exists = (p: string) => access(p).then(() => true, () => false);

test('tune and drill: separate lock files, one record format, one liveness rule', async () => {
  const root = await mkdtemp(join(tmpdir(), 'locks-'));
  const stateDir = join(root, 'state');
  const run = join(root, 'run');
  const tune = await acquireTuneLock(stateDir, null, 0, 'apply');
  const drill = await acquireDrillLock({ dir: run, netns: 'a' }); // held together: different files
  const tuneText = await readFile(tune.path, 'utf8');
  const drillText = await readFile(drill.path, 'utf8');
  assert.equal(tune.path, lockPath(stateDir, null));
  assert.equal(drill.path, join(run, 'drill.lock'));
  for (const text of [tuneText, drillText]) {
    assert.match(text, /^\{"pid":/); // the lab reads the holder's pid first
    const r = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(r).sort(), ['bootId', 'netns', 'pid', 'since', 'startTime', 'what']);
    assert.equal(r.pid, process.pid);
  }
  // each one's live record blocks the other's lock: the same liveness rule
  const other = join(root, 'other');
  await mkdir(other);
  await writeFile(join(other, 'drill.lock'), tuneText);
  await assert.rejects(acquireDrillLock({ dir: other, netns: null }), busy(new RegExp(`^another drill is running \\(pid ${process.pid}, since `)));
  await writeFile(lockPath(stateDir, 'b'), drillText);
  await assert.rejects(acquireTuneLock(stateDir, 'b', 0, 'apply'), busy(new RegExp(`^another tune drill \\(pid ${process.pid}, since .*\\) holds `)));
  // and the same records with another start time (the pid reused) are taken over by both
  const reused = (text: string) => JSON.stringify({ ...JSON.parse(text), startTime: String(Number(selfHolder().startTime) + 1) });
  await writeFile(join(other, 'drill.lock'), reused(tuneText));
  const d2 = await acquireDrillLock({ dir: other, netns: null });
  assert.equal(d2.replacedStale?.what, 'apply');
  await writeFile(lockPath(stateDir, 'b'), reused(drillText));
  const t2 = await acquireTuneLock(stateDir, 'b', 0, 'rollback');
  assert.equal(t2.replacedStale?.what, 'drill');
  // release removes only its own file: a lock taken over meanwhile by a live process (pid 1) stays
  const init = JSON.stringify({ ...selfHolder(undefined, 1), what: 'apply', netns: null, since: 'x' });
  for (const l of [t2, d2]) {
    await writeFile(l.path, init);
    l.release();
    assert.equal(await readFile(l.path, 'utf8'), init);
  }
  for (const l of [tune, drill]) {
    l.release();
    l.release();
    assert.equal(await exists(l.path), false);
  }
});

test('the lock directories of drill and tune must be root\'s when we are root', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'locks-'));
  await chown(root, 65534, 65534);
  await assert.rejects(acquireDrillLock({ dir: root, netns: null }), /is not owned by root: refusing to lock there/);
  await assert.rejects(acquireTuneLock(root, null, 0, 'apply'), /is not owned by root: refusing to lock there/);
});

test('a shared lock directory writable by others is refused (anyone could plant a lock that blocks every run)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'locks-'));
  await chmod(root, 0o1777);
  await assert.rejects(acquireDrillLock({ dir: root, netns: null }), /is writable by others \(mode 1777\): refusing to lock there/);
  await assert.rejects(acquireTuneLock(root, null, 0, 'apply'), /is writable by others \(mode 1777\): refusing to lock there/);
});

test('a stale lock is taken over through its guard: a live guard waits, a killed run\'s guard is skipped, an oversize lock is dead', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'locks-guard-'));
  const path = join(dir, 'x.lock');
  const me = selfHolder();
  const dead = JSON.stringify({ ...me, startTime: String(Number(me.startTime) + 1), what: 'apply', netns: null, since: 'x' });
  const live = JSON.stringify({ ...selfHolder(undefined, 1), what: 'apply', netns: null, since: 'x' });
  const o = { dir, name: 'x.lock', what: 'rollback', netns: null, waitMs: 0, busy: (h: { pid?: number }) => new SctpdiagError(`busy ${h.pid}`, EXIT.BUSY) };
  await writeFile(path, dead);
  await writeFile(takeoverGuard(path, dead, 0), live); // another run (pid 1) is taking it over right now
  await assert.rejects(acquireLock(o), busy(/^busy 1$/));
  assert.equal(await readFile(path, 'utf8'), dead);
  await writeFile(takeoverGuard(path, dead, 0), dead); // that run was killed inside its takeover
  const l = await acquireLock(o);
  assert.equal(l.replacedStale?.what, 'apply');
  assert.equal(JSON.parse(await readFile(l.path, 'utf8')).what, 'rollback');
  assert.deepEqual((await readdir(dir)).sort(), ['x.lock']); // both guard levels gone
  l.release();
  await writeFile(path, 'x'.repeat(5000)); // too large to be a record: unreadable, so dead
  const l2 = await acquireLock(o);
  assert.deepEqual(l2.replacedStale, {});
  l2.release();
});

test('what killed runs left is removed by the next holder; a long netns name still makes a lock that can be taken over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'locks-left-'));
  const me = selfHolder();
  const dead = JSON.stringify({ ...me, startTime: String(Number(me.startTime) + 1), what: 'apply', netns: null, since: 'x' });
  const gone = await new Promise<number>((resolve) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.on('exit', () => resolve(c.pid!));
  });
  await writeFile(takeoverGuard(join(dir, 'x.lock'), 'old', 0), dead); // killed after its unlink, before its cleanup
  await writeFile(join(dir, `.new-${gone}-1-1`), 'half'); // killed between its temp file and the link
  await writeFile(join(dir, '.new-1-1-1'), 'pid 1 is alive: its temp file is kept');
  const l = await acquireLock({ dir, name: 'x.lock', what: 'apply', netns: null, waitMs: 0, busy: () => new SctpdiagError('busy', EXIT.BUSY) });
  assert.deepEqual((await readdir(dir)).sort(), ['.new-1-1-1', 'x.lock']);
  l.release();
  const ns = 'n'.repeat(250);
  const t = await acquireTuneLock(dir, ns, 0, 'apply');
  assert.ok(basename(t.path).length < 100, t.path);
  assert.notEqual(t.path, lockPath(dir, 'n'.repeat(249)));
  await writeFile(t.path, JSON.stringify({ ...JSON.parse(await readFile(t.path, 'utf8')), startTime: String(Number(me.startTime) + 1) }));
  const t2 = await acquireTuneLock(dir, ns, 0, 'rollback');
  assert.equal(t2.replacedStale?.what, 'apply');
  t2.release();
});

test('processes racing for one lock never hold it at once, starting from a dead holder\'s lock', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'locks-race-'));
  const me = selfHolder();
  await writeFile(join(dir, 'x.lock'), JSON.stringify({ ...me, startTime: String(Number(me.startTime) + 1), what: 'apply', netns: null, since: 'x' }));
  const log = join(dir, 'log');
  const lockModule = new URL('../../src/lock.js', import.meta.url).href;
  // each child takes the lock 10 times, writing enter/exit lines around a short hold; the wait is
  // unbounded in practice (polling is not fair: on a loaded host one child can lose for a minute)
  const child = `
    const { acquireLock } = await import(${JSON.stringify(lockModule)});
    const { appendFileSync } = await import('node:fs');
    for (let i = 0; i < 10; i++) {
      const l = await acquireLock({ dir: ${JSON.stringify(dir)}, name: 'x.lock', what: 'race', netns: null, waitMs: 3_600_000, busy: () => new Error('busy') });
      appendFileSync(${JSON.stringify(log)}, 'enter ' + process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 2));
      appendFileSync(${JSON.stringify(log)}, 'exit ' + process.pid + '\\n');
      l.release();
    }`;
  const runs = Array.from({ length: 8 }, () => new Promise<number | null>((resolve) => {
    spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: 'inherit' }).on('exit', resolve);
  }));
  assert.deepEqual(await Promise.all(runs), Array(8).fill(0));
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 8 * 10 * 2);
  assert.deepEqual(await readdir(dir), ['log']); // no lock, guard or temporary file left
  for (let i = 0; i < lines.length; i += 2) {
    const [a, b] = [lines[i]!.split(' '), lines[i + 1]!.split(' ')];
    assert.deepEqual([a[0], b[0], a[1]], ['enter', 'exit', b[1]], `lines ${i + 1}-${i + 2}: two holders at once`);
  }
});
