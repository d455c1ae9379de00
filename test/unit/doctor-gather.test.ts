// Doctor I/O under injectable roots and runners, and the CLI exit codes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherFacts, gatherPlatform, lookupRoutes, parseRouteGet, type Runner } from '../../src/doctor/gather.js';
import { parseCapEff } from '../../src/kernel/privileges.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');
const CLI = join(process.cwd(), 'dist/src/cli.js');

const fakeRunner = (routes: Record<string, object>, bpftrace: string | null = 'bpftrace v0.17.0'): Runner => async (file, args) => {
  if (file === 'bpftrace') return bpftrace ? { code: 0, stdout: bpftrace + '\n', stderr: '' } : { code: null, stdout: '', stderr: '', error: 'ENOENT' };
  if (file === 'ip' && args[0] === '-j' && args[1] === 'route' && args[2] === 'get') {
    const r = routes[args[3]!];
    return r ? { code: 0, stdout: JSON.stringify([r]), stderr: '' } : { code: 2, stdout: '', stderr: 'RTNETLINK answers: Network is unreachable' };
  }
  if (file === 'nft' || file === 'iptables-save') return { code: null, stdout: '', stderr: '', error: 'ENOENT' };
  throw new Error(`unexpected command ${file} ${args.join(' ')}`);
};

test('gatherPlatform reads module, BTF and tracefs facts under a fake /sys', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-doctor-'));
  try {
    const sys = join(root, 'sys');
    await mkdir(join(sys, 'module/sctp'), { recursive: true });
    await mkdir(join(sys, 'kernel/btf'), { recursive: true });
    await writeFile(join(sys, 'kernel/btf/vmlinux'), '');
    await mkdir(join(sys, 'kernel/debug/tracing'), { recursive: true });
    await writeFile(join(sys, 'kernel/debug/tracing/kprobe_events'), '');
    await mkdir(join(root, 'proc/self'), { recursive: true });
    await writeFile(join(root, 'proc/self/status'), 'Name:\tnode\nCapEff:\t0000000000001000\n');
    const p = await gatherPlatform({ procRoot: join(CAPS, 'two-path-a'), sysRoot: sys, selfProcRoot: join(root, 'proc'), run: fakeRunner({}, null), uid: 1000 });
    assert.equal(p.sctpModule, true);
    assert.equal(p.sctpDiagModule, false);
    assert.equal(p.btfVmlinux, true);
    assert.equal(p.btfSctp, false);
    assert.equal(p.kprobeEvents, join(sys, 'kernel/debug/tracing/kprobe_events'));
    assert.equal(p.bpftraceVersion, null);
    assert.equal(p.uid, 1000);
    assert.equal(p.capEff, 0x1000n);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('gatherPlatform: no tracefs in this mount namespace (ip netns exec) → the initial namespace\'s kprobe_events counts, and the kprobe PMU; none anywhere → null', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-doctor-'));
  try {
    const sys = join(root, 'sys');
    const host = join(root, 'host-sys');
    await mkdir(join(sys, 'module/sctp'), { recursive: true });
    await mkdir(join(root, 'proc/self'), { recursive: true });
    await writeFile(join(root, 'proc/self/status'), 'CapEff:\t0\n');
    const gather = () => gatherPlatform({ procRoot: join(CAPS, 'two-path-a'), sysRoot: sys, hostSysRoot: host, selfProcRoot: join(root, 'proc'), run: fakeRunner({}, null), uid: 0 });
    assert.equal((await gather()).kprobeEvents, null);
    await mkdir(join(host, 'kernel/tracing'), { recursive: true });
    await writeFile(join(host, 'kernel/tracing/kprobe_events'), '');
    assert.equal((await gather()).kprobeEvents, join(host, 'kernel/tracing/kprobe_events'));
    // the perf kprobe PMU is in sysfs, so visible under `ip netns exec`: bpftrace attaches through it without tracefs
    await mkdir(join(sys, 'bus/event_source/devices/kprobe'), { recursive: true });
    assert.equal((await gather()).kprobeEvents, join(sys, 'bus/event_source/devices/kprobe'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('parseCapEff and parseRouteGet', () => {
  assert.equal(parseCapEff('CapInh:\t0\nCapEff:\t000001fffeffffff\n'), 0x1fffeffffffn);
  assert.equal(parseCapEff(null), null);
  const r = parseRouteGet('10.2.0.2', '[{"dst":"10.2.0.2","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.10","flags":[],"uid":0,"cache":[]}]');
  assert.deepEqual(r, { dst: '10.2.0.2', dev: 'eth0', gateway: '192.0.2.1', prefsrc: '192.0.2.10' });
  assert.ok(parseRouteGet('x', 'garbage').error);
  assert.ok(parseRouteGet('x', '[]').error);
});

test('lookupRoutes: argv only, deduplicated, capped, failures recorded', async () => {
  const calls: string[][] = [];
  const run: Runner = async (file, args) => {
    calls.push([file, ...args]);
    return fakeRunner({ '10.1.0.2': { dev: 'va1' } })(file, args);
  };
  const m = await lookupRoutes(['10.1.0.2', '10.1.0.2', '10.2.0.2', '; rm -rf /'], run, 10);
  assert.deepEqual(calls, [['ip', '-j', 'route', 'get', '10.1.0.2'], ['ip', '-j', 'route', 'get', '10.2.0.2']]);
  assert.equal(m.get('10.1.0.2')?.dev, 'va1');
  assert.match(m.get('10.2.0.2')?.error ?? '', /unreachable/);
  assert.equal((await lookupRoutes(['10.1.0.2', '10.2.0.2'], run, 1)).size, 1);
});

test('gatherFacts on a capture skips host facts; forced live mode looks up routes', async () => {
  const dir = join(CAPS, 'two-path-a');
  const cap = await gatherFacts({ procRoot: dir, netns: null });
  assert.equal(cap.platform, null);
  assert.equal(cap.routes, null);
  assert.equal(cap.sysctls?.['hb_interval'], '1000');
  assert.ok(cap.failover && cap.failover.failoverMs > 0);
  const live = await gatherFacts({
    procRoot: dir, netns: null, capture: false, sysRoot: '/nonexistent', selfProcRoot: '/nonexistent',
    run: fakeRunner({ '10.1.0.2': { dev: 'eth0', gateway: '192.0.2.1' }, '10.2.0.2': { dev: 'eth0', gateway: '192.0.2.1' } }),
    uid: 0, hostAddresses: () => ['10.1.0.1', '10.2.0.1'], stateDir: '/nonexistent', sampleMs: 5, sleep: async () => undefined,
  });
  assert.equal(live.routes?.size, 2);
  assert.equal(live.platform?.bpftraceVersion, 'bpftrace v0.17.0');
  assert.ok(live.later, 'second sample taken');
  assert.match(live.driftUnavailable ?? '', /no profile applied/);
});

test('CLI: doctor --json on captures, exit codes documented (8 warn)', () => {
  const r = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-a-fail-t6'), '--json', 'doctor'], { encoding: 'utf8' });
  assert.equal(r.status, 8, r.stderr);
  const rep = JSON.parse(r.stdout) as { schemaVersion: number; exitCode: number; worst: string; checks: { id: string; severity: string }[] };
  assert.equal(rep.schemaVersion, 1);
  assert.equal(rep.exitCode, 8);
  assert.equal(rep.worst, 'warn');
  assert.equal(rep.checks.find((c) => c.id === 'assoc.path-state')?.severity, 'warn');
  assert.match(r.stderr, /doctor: \d+ warning/);
  const bad = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-a'), 'doctor', '--sample', 'abc'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  const text = spawnSync(process.execPath, [CLI, '--no-color', '--proc-root', join(CAPS, 'two-path-a'), 'doctor', '--failover-target', '10000'], { encoding: 'utf8' });
  assert.equal(text.status, 8);
  assert.match(text.stdout, /WARN .*bind\(\) pitfall/);
  assert.match(text.stdout, /ok .*within the target 10000 ms/);
});

test('a live host without SCTP is a doctor finding (exit 9), not an error', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-nosctp-'));
  try {
    const { buildReport } = await import('../../src/doctor/report.js');
    const f = await gatherFacts({ procRoot: root, netns: null, capture: false, sysRoot: join(root, 'sys'), selfProcRoot: root, run: fakeRunner({}), uid: 0, hostAddresses: () => [], stateDir: root });
    assert.equal(f.snapshot, null);
    const rep = buildReport(f, 'h');
    assert.equal(rep.checks.find((c) => c.id === 'platform.sctp-module')?.severity, 'fail');
    assert.equal(rep.exitCode, 9);
    // a capture without SCTP stays an error
    await assert.rejects(gatherFacts({ procRoot: root, netns: null }), (e: Error & { exitCode?: number }) => e.exitCode === 3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
