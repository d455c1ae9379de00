/**
 * One privilege rule (kernel/privileges.ts): the commands refuse by it and
 * doctor reports by it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { allowed, PRIVILEGED, type Privilege, type Who } from '../../src/kernel/privileges.js';
import { checkPrivileges } from '../../src/doctor/checks.js';
import type { DoctorFacts, PlatformFacts } from '../../src/doctor/types.js';
import { EXIT } from '../../src/errors.js';
import { CLI } from '../helpers.js';

const CAP = { NET_ADMIN: 1n << 12n, SYS_ADMIN: 1n << 21n, PERFMON: 1n << 38n, BPF: 1n << 39n };
const ALL = 0x1ffffffffffn;

test('who may do what: tune, drill --yes and --netns are root\'s (capabilities do not replace it); bpf goes by capabilities', () => {
  const cases: [Who, Record<Privilege, boolean>][] = [
    [{ uid: 0, capEff: ALL }, { bpf: true, tune: true, drill: true, netns: true }],
    [{ uid: 0, capEff: 0n }, { bpf: false, tune: true, drill: false, netns: false }],
    [{ uid: 0, capEff: CAP.NET_ADMIN }, { bpf: false, tune: true, drill: true, netns: false }],
    [{ uid: 0, capEff: null }, { bpf: false, tune: true, drill: true, netns: true }],
    [{ uid: 1000, capEff: ALL }, { bpf: true, tune: false, drill: false, netns: false }],
    [{ uid: 1000, capEff: CAP.BPF | CAP.PERFMON | CAP.NET_ADMIN }, { bpf: true, tune: false, drill: false, netns: false }],
    [{ uid: 1000, capEff: CAP.BPF }, { bpf: false, tune: false, drill: false, netns: false }],
    [{ uid: 1000, capEff: null }, { bpf: false, tune: false, drill: false, netns: false }],
  ];
  for (const [who, want] of cases) {
    const got = Object.fromEntries((Object.keys(PRIVILEGED) as Privilege[]).map((k) => [k, allowed(k, who)]));
    assert.deepEqual(got, want, `uid ${who.uid} CapEff ${who.capEff}`);
    // doctor names exactly what the same rules refuse
    const platform = { uid: who.uid, capEff: who.capEff } as PlatformFacts;
    const r = checkPrivileges({ platform } as DoctorFacts);
    const refused = (Object.keys(want) as Privilege[]).filter((k) => !want[k]).map((k) => `limits: ${PRIVILEGED[k].without}`);
    assert.deepEqual(r.evidence.filter((e) => e.startsWith('limits: ') && !e.includes('socket owners')), refused);
    assert.equal(r.severity, who.uid === 0 && want.bpf ? 'ok' : 'info');
  }
});

test('--netns-pid as an ordinary user: exit 4 before anything is entered', { skip: process.getuid?.() !== 0 && 'needs root to drop to nobody' }, () => {
  const r = spawnSync(process.execPath, [CLI, '--netns-pid', '1', 'status'], { uid: 65534, gid: 65534, encoding: 'utf8' });
  assert.equal(r.status, EXIT.PERMISSION, r.stderr);
  assert.match(r.stderr, /entering a network namespace needs root/);
});
