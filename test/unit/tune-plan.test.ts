import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SctpdiagError, EXIT } from '../../src/errors.js';
import { buildPlan, findDrift, orderWrites } from '../../src/tune/plan.js';
import { defaultProfileDirs, loadProfile } from '../../src/tune/profile.js';
import { ROOT, parseSysctlDump } from '../helpers.js';

const shippedDirs = { user: '/nonexistent', shipped: defaultProfileDirs({}).shipped };
const live61 = async () => parseSysctlDump(await readFile(join(ROOT, 'test/fixtures/linux-6.1/sysctl_defaults.txt'), 'utf8'));

test('orderWrites: lowering rto_max below the current rto_min writes rto_min first, and the reverse', () => {
  const keys = (w: { key: string }[]) => w.map((x) => x.key);
  const start = { rto_min: '1000', rto_max: '60000' };
  assert.deepEqual(keys(orderWrites(start, [{ key: 'rto_max', value: '500' }, { key: 'rto_min', value: '100' }])), ['rto_min', 'rto_max']);
  const start2 = { rto_min: '100', rto_max: '500' };
  assert.deepEqual(keys(orderWrites(start2, [{ key: 'rto_min', value: '2000' }, { key: 'rto_max', value: '5000' }])), ['rto_max', 'rto_min']);
  assert.deepEqual(keys(orderWrites({ pf_retrans: '0', ps_retrans: '1' }, [{ key: 'pf_retrans', value: '5' }, { key: 'ps_retrans', value: '10' }])), ['ps_retrans', 'pf_retrans']);
  assert.throws(() => orderWrites({ rto_min: '1', rto_max: '2' }, [{ key: 'rto_min', value: '5' }, { key: 'rto_max', value: '3' }]), SctpdiagError);
});

test('property: from any valid state to any valid target, every intermediate state satisfies the kernel bounds', () => {
  const pair = fc.tuple(fc.integer({ min: 1, max: 100000 }), fc.integer({ min: 1, max: 100000 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
  fc.assert(
    fc.property(pair, pair, pair, pair, fc.boolean(), (s1, t1, s2, t2, rev) => {
      const start = { rto_min: String(s1[0]), rto_max: String(s1[1]), pf_retrans: String(s2[0]), ps_retrans: String(s2[1]) };
      let changes = [
        { key: 'rto_min', value: String(t1[0]) }, { key: 'rto_max', value: String(t1[1]) },
        { key: 'pf_retrans', value: String(t2[0]) }, { key: 'ps_retrans', value: String(t2[1]) },
      ];
      if (rev) changes = changes.reverse();
      const state: Record<string, string> = { ...start };
      for (const w of orderWrites(start, changes)) {
        state[w.key] = w.value;
        assert.ok(Number(state.rto_min) <= Number(state.rto_max));
        assert.ok(Number(state.pf_retrans) <= Number(state.ps_retrans));
      }
    }),
  );
});

test('plan telecom against a real 6.1 kernel: changes, units, effects, kernel-safe order', async () => {
  const plan = buildPlan(await loadProfile({ name: 'telecom' }, shippedDirs), await live61());
  const byKey = new Map(plan.items.map((i) => [i.key, i]));
  assert.deepEqual([byKey.get('rto_min')?.current, byKey.get('rto_min')?.target, byKey.get('rto_min')?.unit, byKey.get('rto_min')?.effect], ['1000', '100', 'ms', 'new-sockets']);
  assert.equal(byKey.get('pf_enable')?.change, false);
  const order = plan.writes.map((w) => w.key);
  assert.ok(order.indexOf('rto_min') < order.indexOf('rto_max'), order.join(','));
  assert.equal(plan.final.rto_max, '200');
  assert.deepEqual(plan.findings, []);
});

test('plan default on 6.1: l3mdev_accept (6.2+) is skipped, not an error', async () => {
  const live = await live61();
  live.set('rto_min', '100');
  const plan = buildPlan(await loadProfile({ name: 'default' }, shippedDirs), live);
  const l3 = plan.items.find((i) => i.key === 'l3mdev_accept');
  assert.match(l3?.skipped ?? '', /not present on this kernel \(since 6\.2/);
  assert.deepEqual(plan.writes, [{ key: 'rto_min', value: '1000' }]);
});

test('global keys in a netns are skipped as init-netns only', async () => {
  const live = await live61();
  live.delete('sctp_rmem');
  live.delete('sctp_wmem');
  live.delete('sctp_mem');
  const plan = buildPlan(await loadProfile({ name: 'wan' }, shippedDirs), live);
  assert.match(plan.items.find((i) => i.key === 'sctp_rmem')?.skipped ?? '', /initial netns/);
});

async function profileFile(text: string) {
  const d = await mkdtemp(join(tmpdir(), 'sctpdiag-plan-'));
  const f = join(d, 'p.conf');
  await writeFile(f, text);
  return loadProfile({ file: f }, shippedDirs);
}

test('guard rail: addip_noauth_enable=1 refused (file:line) unless --allow-insecure', async () => {
  const p = await profileFile('addip_enable = 1\nauth_enable = 1\naddip_noauth_enable = 1\n');
  const live = await live61();
  assert.throws(() => buildPlan(p, live), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && /p\.conf:3: refusing addip_noauth_enable=1/.test(e.message));
  const plan = buildPlan(p, await live61(), { allowInsecure: true });
  assert.ok(plan.findings.some((f) => f.rule === 'addip-noauth'));
});

test('warnings: addip without auth, auto-asconf without addip, rto_initial outside, pf disabled', async () => {
  const p = await profileFile('addip_enable = 1\nrto_min = 100\nrto_max = 1000\npf_retrans = 5\n');
  const rules = buildPlan(p, await live61()).findings.map((f) => f.rule).sort();
  assert.deepEqual(rules, ['addip-without-auth', 'pf-disabled', 'rto-initial-range']);
  const q = await profileFile('default_auto_asconf = 1\n');
  assert.deepEqual(buildPlan(q, await live61()).findings.map((f) => f.rule), ['auto-asconf-without-addip']);
});

test('a final state the kernel would reject is an error naming the profile line', async () => {
  const p = await profileFile('# only rto_min\nrto_min = 90000\n');
  const live = await live61();
  assert.throws(() => buildPlan(p, live), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && /p\.conf:2: rto_min \(90000\) must be ≤ rto_max \(60000\)/.test(e.message));
});

test('findDrift lists keys whose live value differs', async () => {
  const p = await loadProfile({ name: 'telecom' }, shippedDirs);
  const live = await live61();
  const d = findDrift(p, live);
  assert.ok(d.some((x) => x.key === 'rto_min' && x.actual === '1000' && x.expected === '100'));
  for (const [k, e] of p.values) live.set(k, e.value);
  assert.deepEqual(findDrift(p, live), []);
});
