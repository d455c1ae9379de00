// diffSnapshots on the real failover series from the lab kernel 6.1
// (test/fixtures/linux-6.1-debian/two-path-failover: va1 cut, samples 1 s apart).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { parseAssocs, parseEps, parseRemaddr, parseSnmp } from '../../src/procfs/parse.js';
import { diffSnapshots, PROCFS_EVENT_TYPES } from '../../src/model/diff.js';
import { packageRoot } from '../../src/package-files.js';
const repoRoot = packageRoot();
import { failoverSampleOf, failoverSeries } from '../helpers.js';


const series: Snapshot[] = await failoverSeries();

function allEvents() {
  const out = [];
  for (let i = 1; i < series.length; i++) out.push(...diffSnapshots(series[i - 1]!, series[i]!));
  return out;
}

test('identical snapshots produce no events', () => {
  assert.deepEqual(diffSnapshots(series[0]!, series[0]!), []);
});

test('failover series: primary path of assoc 3 goes INACTIVE, with the active path switched', () => {
  const ev = allEvents().filter((e) => e.type === 'path.state' && e.assoc?.id === 3);
  assert.equal(ev.length, 1);
  const e = ev[0]!;
  assert.equal(e.path, '10.1.0.2');
  assert.equal(e.from, 'ACTIVE');
  assert.equal(e.to, 'INACTIVE');
  assert.equal(e.activePath, '10.2.0.2');
  assert.equal(e.severity, 'warn');
  assert.equal(e.source, 'procfs');
  assert.equal(e.schemaVersion, 1);
  assert.equal(e.netns, 'a');
  assert.equal(e.time, series[3]!.takenAt); // t3: the first sample showing STATE 0
  assert.deepEqual(e.assoc, { id: 3, localPort: 6001, peerPort: 5001, localAddresses: ['10.1.0.1', '10.2.0.1'], owners: [] });
});

test('failover series: assoc 5 loses only its backup path', () => {
  const ev = allEvents().filter((e) => e.assoc?.id === 5);
  assert.deepEqual(
    ev.map((e) => [e.type, e.path, e.from, e.to]),
    [['path.state', '10.1.0.2', 'ACTIVE', 'INACTIVE']],
  );
});

test('failover series: locally single-homed assoc 7 is lost (assoc.down, fail), no assoc.up for its COOKIE_WAIT retry', () => {
  const ev = allEvents();
  const down = ev.filter((e) => e.type === 'assoc.down');
  assert.equal(down.length, 1);
  assert.equal(down[0]!.assoc?.id, 7);
  assert.equal(down[0]!.severity, 'fail');
  assert.match(down[0]!.reason ?? '', /lost/);
  assert.equal(ev.filter((e) => e.type === 'assoc.up').length, 0);
  // assoc 7's paths went INACTIVE before it disappeared
  assert.ok(ev.some((e) => e.type === 'path.state' && e.assoc?.id === 7 && e.path === '10.1.0.2' && e.to === 'INACTIVE'));
});

test('restored: the association comes up again, path back to ACTIVE (reverse diff)', () => {
  const ev = diffSnapshots(series[6]!, series[0]!);
  assert.ok(ev.some((e) => e.type === 'assoc.up' && e.assoc?.id === 7));
  assert.ok(ev.some((e) => e.type === 'path.state' && e.assoc?.id === 3 && e.path === '10.1.0.2' && e.from === 'INACTIVE' && e.to === 'ACTIVE' && e.severity === 'info'));
});

test('peers, primary and local addresses added/removed (IPv6 ASCONF capture)', () => {
  const v6 = join(repoRoot, 'test/fixtures/linux-6.1-debian/ipv6-asconf-many');
  const r = (f: string) => readFileSync(join(v6, f), 'utf8');
  const mk = (assocs: string, remaddr: string) =>
    buildSnapshot({
      takenAt: new Date(0),
      netns: null,
      kernelRelease: null,
      hz: { value: 250, source: 'option', detail: 'test' },
      assocs: parseAssocs(r(assocs)),
      eps: parseEps(r('many_b_eps.txt')),
      remaddr: parseRemaddr(r(remaddr)),
      snmp: parseSnmp(r('many_b_snmp.txt')),
    });
  const before = mk('many_b_assocs.txt', 'many_b_remaddr.txt');
  const after = mk('asconf_b_assocs_after_add.txt', 'asconf_b_remaddr_after_add.txt');
  const ev = diffSnapshots(before, after);
  const added = ev.filter((e) => e.type === 'peer.added');
  assert.ok(added.length > 0, 'peer.added expected');
  assert.ok(added.every((e) => e.path === '10.5.0.1'), JSON.stringify(added.slice(0, 2)));
  const local = ev.filter((e) => e.type === 'local.added');
  assert.ok(local.length > 0 && local.every((e) => e.to === '10.5.0.2'));
  // synthetic primary change and removal on the same data
  const a0 = before.associations.find((a) => a.paths.length >= 2)!;
  const moved = structuredClone(before);
  const a1 = moved.associations.find((a) => a.key === a0.key)!;
  a1.primaryPath = a1.paths[1]!.address;
  a1.paths = a1.paths.slice(1);
  const ev2 = diffSnapshots(before, moved);
  assert.ok(ev2.some((e) => e.type === 'path.primary' && e.from === a0.primaryPath && e.to === a1.primaryPath));
  assert.ok(ev2.some((e) => e.type === 'peer.removed' && e.path === a0.paths[0]!.address));
});

test('types option restricts the derived events', () => {
  const ev = diffSnapshots(series[2]!, series[3]!, { types: new Set(['assoc.down']) });
  assert.ok(ev.every((e) => e.type === 'assoc.down'));
  assert.ok(PROCFS_EVENT_TYPES.includes('path.state'));
});

test('an association freed between the reads of assocs and remaddr is left out: no peers "removed", and it goes down as lost, not closed', () => {
  // seen in the lab (trace --no-bpf, every path cut): assocs still listed assoc 3, remaddr no longer had its paths
  const dir = join(repoRoot, 'test/fixtures/linux-6.1-debian/two-path-failover');
  const file = (n: string) => readFileSync(join(dir, n), 'utf8');
  const withoutAssoc3 = (text: string, column: number) =>
    text.split('\n').filter((l, i) => i === 0 || l.trim().split(/\s+/)[column] !== '3').join('\n');
  const snap = failoverSampleOf;
  const before = series[6]!;
  const torn = snap(file('a_assocs_fail_t6.txt'), withoutAssoc3(file('a_remaddr_fail_t6.txt'), 1), 7);
  assert.deepEqual(torn.associations.map((a) => a.id).sort(), [0, 5]);
  assert.deepEqual(torn.warnings, []);
  const ev = diffSnapshots(before, torn).filter((e) => e.assoc?.id === 3);
  assert.deepEqual(ev.map((e) => [e.type, e.severity]), [['assoc.down', 'fail']]);
  assert.match(ev[0]!.reason ?? '', /probably lost/);
  const gone = snap(withoutAssoc3(file('a_assocs_fail_t6.txt'), 6), withoutAssoc3(file('a_remaddr_fail_t6.txt'), 1), 8);
  assert.deepEqual(diffSnapshots(torn, gone), []);
});
