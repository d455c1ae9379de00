import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, symlink, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { SctpdiagError, EXIT } from '../../src/errors.js';
import { readSysctls } from '../../src/procfs/sysctls.js';
import {
  applyWrites,
  detectInterrupted,
  journalPath,
  procSysctlIO,
  readJournal,
  rollback,
  type SysctlIO,
} from '../../src/tune/apply.js';
import { collectTune, printTune } from '../../src/commands/tune.js';
import { findSctpSocketOwners } from '../../src/procfs/owners-sctp.js';
import { plain } from '../../src/render/style.js';
import { ROOT, fakeTuneHost } from '../helpers.js';

const fakeHost = fakeTuneHost;

const snapshot = async (proc: string) => Object.fromEntries((await readSysctls(proc))!);

const failing = (io: SysctlIO, key: string, how: 'throw' | 'ignore' = 'throw'): SysctlIO => ({
  read: (k) => io.read(k),
  async write(k, v) {
    if (k !== key) return io.write(k, v);
    if (how === 'ignore') return; // the kernel "accepted" but kept the old value
    throw Object.assign(new Error('Invalid argument'), { code: 'EINVAL' });
  },
});

const isErr = (code: number, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof SctpdiagError, String(e));
  assert.equal(e.exitCode, code, e.message);
  assert.match(e.message, re);
  return true;
};

test('apply telecom: written in order, read back, journaled; rollback restores; second rollback has nothing', async () => {
  const { proc, env } = await fakeHost();
  const before = await snapshot(proc);
  const r = await collectTune({ profile: 'telecom', apply: true }, env);
  const after = await snapshot(proc);
  assert.equal(after.rto_min, '100');
  assert.equal(after.rto_max, '200');
  assert.equal(after.association_max_retrans, '4');
  assert.ok(r.written!.length >= 8);
  const j = await readJournal(env.stateDir, null);
  assert.equal(j?.status, 'applied');
  assert.equal(j?.originals.find((o) => o.key === 'rto_min')?.value, '1000');
  assert.match(printTune(r, plain), /Applied: \d+ key\(s\) written and read back/);
  // verify: no drift now; drift after a change behind our back
  assert.deepEqual((await collectTune({ profile: 'telecom', verify: true }, env)).drift, []);
  await writeFile(join(proc, 'sys/net/sctp/hb_interval'), '30000\n');
  const v = await collectTune({ profile: 'telecom', verify: true }, { ...env, isRoot: false });
  assert.deepEqual(v.drift, [{ key: 'hb_interval', expected: '1000', actual: '30000' }]);
  const rb = await collectTune({ rollback: true }, env);
  assert.equal(rb.rollback?.interrupted, false);
  assert.deepEqual(await snapshot(proc), before);
  await assert.rejects(collectTune({ rollback: true }, env), isErr(EXIT.NOT_FOUND, /already rolled back/));
});

test('a write the kernel rejects mid-plan leaves every key as it was (exit 7)', async () => {
  const { proc, env } = await fakeHost();
  const before = await snapshot(proc);
  const io = failing(procSysctlIO(proc), 'path_max_retrans');
  await assert.rejects(collectTune({ profile: 'telecom', apply: true }, { ...env, io }), isErr(EXIT.APPLY_FAILED, /writing net\.sctp\.path_max_retrans = 2 failed: EINVAL; \d+ key\(s\) had been written; restored \d+: every key is back/));
  assert.deepEqual(await snapshot(proc), before);
  assert.equal((await readJournal(env.stateDir, null))?.status, 'failed');
  // a failed apply does not block the next one
  await collectTune({ profile: 'telecom', apply: true }, env);
});

test('a value that does not read back is a failure too, and restored', async () => {
  const { proc, env } = await fakeHost();
  const before = await snapshot(proc);
  const io = failing(procSysctlIO(proc), 'hb_interval', 'ignore');
  await assert.rejects(collectTune({ profile: 'telecom', apply: true }, { ...env, io }), isErr(EXIT.APPLY_FAILED, /hb_interval.*read back "30000"/));
  assert.deepEqual(await snapshot(proc), before);
});

test('not root: writing modes refused before anything is written; dry run and verify work', async () => {
  const { root, proc, env } = await fakeHost();
  const user = { ...env, isRoot: false };
  const before = await snapshot(proc);
  await assert.rejects(collectTune({ profile: 'telecom', apply: true }, user), isErr(EXIT.PERMISSION, /needs root/));
  await assert.rejects(collectTune({ profile: 'telecom', apply: true, persist: true }, user), isErr(EXIT.PERMISSION, /needs root/));
  await assert.rejects(collectTune({ rollback: true }, user), isErr(EXIT.PERMISSION, /needs root/));
  assert.deepEqual(await snapshot(proc), before);
  assert.deepEqual((await readdir(root)).sort(), ['proc']);
  const plan = await collectTune({ profile: 'telecom' }, user);
  assert.equal(plan.mode, 'plan');
  assert.ok(plan.failover!.before!.inactiveMs === 64000 && plan.failover!.after.inactiveMs === 950);
  const text = printTune(plan, plain);
  assert.match(text, /Dry run: nothing written/);
  assert.match(text, /net\.sctp\.rto_min\s+1000\s+→\s+100\s+ms\s+new sockets/);
  assert.match(text, /path INACTIVE \(data\)\s+64\.0 s\s+→\s+950 ms/);
});

test('bad input writes nothing: unknown profile (5), bad file (2), persist inside a netns (2)', async () => {
  const { root, proc, env } = await fakeHost();
  const before = await snapshot(proc);
  await assert.rejects(collectTune({ profile: 'nope', apply: true }, env), isErr(EXIT.NOT_FOUND, /unknown profile "nope"/));
  const f = join(root, 'bad.conf');
  await writeFile(f, 'rto_min = 100\nrto_max = 50x\n');
  await assert.rejects(collectTune({ profileFile: f, apply: true }, env), isErr(EXIT.USAGE, /bad\.conf:2: rto_max: "50x" is not an integer/));
  await assert.rejects(collectTune({ profile: 'telecom', apply: true, persist: true }, { ...env, netns: 'a' }), isErr(EXIT.USAGE, /--netns/));
  await assert.rejects(collectTune({ profile: 'telecom', verify: true, apply: true }, env), isErr(EXIT.USAGE, /cannot be combined/));
  await assert.rejects(collectTune({ apply: true }, env), isErr(EXIT.USAGE, /which profile/));
  assert.deepEqual(await snapshot(proc), before);
  await assert.rejects(access(env.stateDir));
});

test('persist: atomic file in sysctl.d in a kernel-safe order; rollback removes it', async () => {
  const { env } = await fakeHost();
  const r = await collectTune({ profile: 'telecom', apply: true, persist: true }, env);
  const file = join(env.sysctlD, '90-sctpdiag.conf');
  assert.equal(r.persisted, file);
  const text = await readFile(file, 'utf8');
  const keys = [...text.matchAll(/^net\.sctp\.(\w+) = (\S+)$/gm)].map((m) => m[1]);
  assert.ok(keys.indexOf('rto_min') < keys.indexOf('rto_max'));
  assert.match(text, /^net\.sctp\.pf_expose = 2$/m);
  assert.deepEqual((await readdir(env.sysctlD)), ['90-sctpdiag.conf']); // no temp file left
  const rb = await collectTune({ rollback: true }, env);
  assert.deepEqual(rb.rollback?.persist, { file, action: 'removed' });
  await assert.rejects(access(file));
});

test('crash mid-apply (real SIGKILL of a child process): detected, apply refused, rollback restores', async () => {
  const { proc, env } = await fakeHost();
  const before = await snapshot(proc);
  const mod = join(ROOT, 'dist/src/tune/apply.js');
  const script = `
    import { applyWrites, procSysctlIO } from ${JSON.stringify(mod)};
    const real = procSysctlIO(${JSON.stringify(proc)});
    // each write takes 5 s: the child is killed after its first
    const io = { read: real.read, write: async (k, v) => { await real.write(k, v); await new Promise((r) => setTimeout(r, 5000)); } };
    await applyWrites({ io, stateDir: ${JSON.stringify(env.stateDir)}, netns: null, profile: 'telecom',
      writes: [{ key: 'rto_min', value: '100' }, { key: 'rto_max', value: '1000' }, { key: 'path_max_retrans', value: '2' }] });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  while ((await snapshot(proc)).rto_min !== '100') {
    assert.ok(Date.now() < deadline, 'child never wrote');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal((await snapshot(proc)).rto_min, '100');
  const found = await detectInterrupted(env.stateDir, null);
  assert.equal(found?.running, false);
  assert.equal(found?.pid, child.pid);
  const plan = await collectTune({ profile: 'telecom' }, env);
  assert.match(printTune(plan, plain), /interrupted apply detected: profile telecom/);
  await assert.rejects(collectTune({ profile: 'telecom', apply: true }, env), isErr(EXIT.FAILURE, /interrupted apply of profile telecom/));
  const rb = await collectTune({ rollback: true }, env);
  assert.equal(rb.rollback?.interrupted, true);
  assert.deepEqual(rb.rollback?.restored, [{ key: 'rto_min', from: '100', to: '1000' }]);
  assert.deepEqual(await snapshot(proc), before);
});

test('journals are per netns', async () => {
  const { proc, env } = await fakeHost();
  await applyWrites({ io: procSysctlIO(proc), stateDir: env.stateDir, netns: 'a', profile: 'x', writes: [{ key: 'rto_min', value: '500' }] });
  assert.equal((await readJournal(env.stateDir, 'a'))?.status, 'applied');
  assert.equal(await readJournal(env.stateDir, null), null);
  assert.match(journalPath(env.stateDir, 'a/../b'), /journal-a_.._b\.json$/);
  await assert.rejects(rollback({ io: procSysctlIO(proc), stateDir: env.stateDir, netns: null }), isErr(EXIT.NOT_FOUND, /nothing to roll back/));
});

test('list and show', async () => {
  const { env } = await fakeHost();
  const l = await collectTune({ list: true }, env);
  assert.ok(l.profiles!.some((p) => p.name === 'telecom'));
  assert.match(printTune(l, plain), /^PROFILE\s+SOURCE\s+DESCRIPTION/);
  const s = await collectTune({ show: 'telecom' }, env);
  const text = printTune(s, plain);
  assert.match(text, /net\.sctp\.rto_min = 100\n\s+Failure detection is a sum of RTOs/);
  assert.match(text, /path INACTIVE \(data\)\s+950 ms/);
  // on Linux 5.10 the first heartbeat after PF may wait for the ACTIVE path's timer (src/kernel/hb-timer.ts)
  const old = printTune(await collectTune({ show: 'telecom' }, { ...env, kernel: { release: '5.10.0-32-amd64' } }), plain);
  assert.match(old, /path INACTIVE \(data\)\s+1\.25 s/);
  assert.match(old, /Linux 5\.10\.0-32-amd64 \(before 6\.1\.11\/6\.2\): PF does not pull in the pending heartbeat timer/);
});

test('findSctpSocketOwners: inodes from eps/assocs by header, matched to fd links; unreadable pids skipped', async () => {
  const { proc } = await fakeHost();
  const real = (f: string) => readFile(join(ROOT, 'test/fixtures/linux-6.1-debian/two-path-failover', f), 'utf8');
  await writeFile(join(proc, 'net/sctp/assocs'), await real('a_assocs.txt')); // inodes 370, 369, 11079
  await writeFile(join(proc, 'net/sctp/eps'), ' ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\nffff 1 0 10 5 5000 0 500 10.1.0.2\n');
  for (const [pid, comm, links] of [[100, 'sctp_darn', ['socket:[370]', 'socket:[369]', '/dev/null']], [200, 'other', ['socket:[5]']], [300, 'srv', ['socket:[500]']]] as const) {
    await mkdir(join(proc, String(pid), 'fd'), { recursive: true });
    await writeFile(join(proc, String(pid), 'comm'), comm + '\n');
    for (const [i, l] of links.entries()) await symlink(l, join(proc, String(pid), 'fd', String(i)));
  }
  await mkdir(join(proc, '400')); // no fd dir: skipped
  assert.deepEqual(await findSctpSocketOwners(proc), [
    { pid: 100, comm: 'sctp_darn', inodes: [369, 370] },
    { pid: 300, comm: 'srv', inodes: [500] },
  ]);
});
