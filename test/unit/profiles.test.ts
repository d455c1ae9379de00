import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SctpdiagError, EXIT } from '../../src/errors.js';
import { catalog, checkRules } from '../../src/kernel/sysctl-catalog.js';
import { modelFailover, paramsFromSysctls } from '../../src/model/failover.js';
import { defaultProfileDirs, listProfiles, loadProfile, parseProfile, type ProfileDirs } from '../../src/tune/profile.js';

const shipped = defaultProfileDirs({}).shipped;

async function dirs(files: Record<string, string>, shippedFiles: Record<string, string> = {}): Promise<ProfileDirs> {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-prof-'));
  const d = { user: join(root, 'user'), shipped: join(root, 'shipped') };
  await mkdir(d.user);
  await mkdir(d.shipped);
  for (const [n, t] of Object.entries(files)) await writeFile(join(d.user, n + '.conf'), t);
  for (const [n, t] of Object.entries(shippedFiles)) await writeFile(join(d.shipped, n + '.conf'), t);
  return d;
}

const rejects = async (p: Promise<unknown>, code: number, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SctpdiagError, String(e));
    assert.equal(e.exitCode, code, e.message);
    assert.match(e.message, re);
    return true;
  });

test('every shipped profile loads, has a description and a reason for each value', async () => {
  const list = await listProfiles({ user: '/nonexistent', shipped });
  const names = list.map((p) => p.name);
  for (const n of ['default', 'telecom', 'asconf-secure', 'wan', 'telecom-secure']) assert.ok(names.includes(n), n);
  for (const p of list) {
    assert.ok(p.description, `${p.name} has a description`);
    const r = await loadProfile({ name: p.name }, { user: '/nonexistent', shipped });
    assert.ok(r.values.size > 0);
    for (const e of r.values.values()) assert.ok(e.reason.length > 0 || p.name === 'default' || e.file.endsWith('default.conf'), `${p.name}: ${e.key} has no reason`);
  }
});

test('default profile = the catalog defaults for every key with a fixed default', async () => {
  const r = await loadProfile({ name: 'default' }, { user: '/nonexistent', shipped });
  for (const k of catalog) {
    if (k.default === null) assert.ok(!r.values.has(k.name), `${k.name} has no fixed default and must not be in default.conf`);
    else assert.equal(r.values.get(k.name)?.value, k.default, k.name);
  }
});

test('telecom meets its targets in the model, obeys §8.2 and the kernel rules', async () => {
  const r = await loadProfile({ name: 'telecom' }, { user: '/nonexistent', shipped });
  const v = Object.fromEntries([...r.values].map(([k, e]) => [k, e.value]));
  const m = modelFailover(paramsFromSysctls(v, { paths: 2, rttMs: 1 }));
  assert.ok(m.dataPath.trafficMovesMs <= 500, `PF after ${m.dataPath.trafficMovesMs}`);
  assert.ok(m.dataPath.inactiveMs <= 1500, `INACTIVE after ${m.dataPath.inactiveMs}`);
  // with the heartbeat jitter at its worst too (plus the up-to-200 ms phase of the first unacked DATA in the lab)
  assert.ok(m.dataPath.inactive.max <= 1500, `INACTIVE at worst after ${m.dataPath.inactive.max}`);
  assert.equal(m.dataPath.inactiveBy, 'heartbeats');
  assert.ok(m.pfEffective, 'PF needs pf_retrans + 1 < path_max_retrans');
  assert.equal(v.pf_expose, '2');
  assert.ok(Number(v.association_max_retrans) <= 2 * Number(v.path_max_retrans));
  assert.ok(Number(v.sack_timeout) < Number(v.rto_min));
  assert.deepEqual(checkRules({ ...v, ps_retrans: '65535' }), []);
});

test('asconf-secure: ASCONF with AUTH, never without', async () => {
  const r = await loadProfile({ name: 'asconf-secure' }, { user: '/nonexistent', shipped });
  const v = Object.fromEntries([...r.values].map(([k, e]) => [k, e.value]));
  assert.deepEqual(v, { addip_enable: '1', auth_enable: '1', default_auto_asconf: '1', addip_noauth_enable: '0' });
  assert.match(r.values.get('default_auto_asconf')!.reason, /wildcard/i);
});

test('telecom-secure composes two profiles with include=', async () => {
  const r = await loadProfile({ name: 'telecom-secure' }, { user: '/nonexistent', shipped });
  assert.equal(r.values.get('rto_min')?.value, '100');
  assert.equal(r.values.get('auth_enable')?.value, '1');
  assert.equal(r.files.length, 3);
});

test('parse: reasons from comments above and trailing, prefix optional, description', () => {
  const p = parseProfile('description = x y\n# why\n# more\nnet.sctp.rto_min = 200 # trailing\n\nrto_max=1000\n', 'f.conf');
  assert.equal(p.description, 'x y');
  assert.deepEqual(p.entries.map((e) => [e.key, e.value, e.line, e.reason]), [['rto_min', '200', 4, 'why more trailing'], ['rto_max', '1000', 6, '']]);
});

test('bad input: error naming file and line, exit 2', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => parseProfile(text, '/p/x.conf'), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && re.test(e.message));
  bad('rto_min = 100\nbogus_key = 1\n', /^\/p\/x\.conf:2: unknown key net\.sctp\.bogus_key/);
  bad('\nrto_min = fast\n', /x\.conf:2: rto_min: "fast" is not an integer/);
  bad('sack_timeout = 501\n', /x\.conf:1: sack_timeout: 501 is out of range 1\.\.500/);
  bad('rto_min = 100\n# c\nrto_min = 200\n', /x\.conf:3: duplicate key rto_min \(first set on line 1\)/);
  bad('rto_min 100\n', /x\.conf:1: malformed line/);
  bad('rto_min =\n', /x\.conf:1: missing value/);
  bad('include = ../../etc/passwd\n', /x\.conf:1: bad profile name/);
  bad('plpmtud_probe_interval = 10\n', /x\.conf:1: .*5000/);
});

test('include cycles, self-includes and unknown includes are errors naming file and line', async () => {
  const d = await dirs({ a: 'rto_min = 100\ninclude = b\n', b: '# b\ninclude = a\n', self: 'include = self\n', u: 'include = nope\n' });
  await rejects(loadProfile({ name: 'a' }, d), EXIT.USAGE, /b\.conf:2: include cycle: a\.conf → b\.conf → a\.conf/);
  await rejects(loadProfile({ name: 'self' }, d), EXIT.USAGE, /self\.conf:1: include cycle/);
  await rejects(loadProfile({ name: 'u' }, d), EXIT.NOT_FOUND, /u\.conf:1: include of unknown profile "nope"/);
  await rejects(loadProfile({ name: 'missing' }, d), EXIT.NOT_FOUND, /unknown profile "missing"/);
  await rejects(loadProfile({ file: join(d.user, 'none.conf') }, d), EXIT.NOT_FOUND, /does not exist/);
});

test('user profiles override shipped ones; shipped:NAME reaches the shipped one; own keys override included', async () => {
  const d = await dirs(
    { telecom: 'description = mine\ninclude = shipped:telecom\nrto_min = 150\n', extra: 'include = base\ninclude = more\nhb_interval = 5\n' },
    { telecom: 'description = shipped\nrto_min = 100\nrto_max = 1000\n', base: 'hb_interval = 1\npf_retrans = 1\n', more: 'pf_retrans = 2\n' },
  );
  const t = await loadProfile({ name: 'telecom' }, d);
  assert.equal(t.description, 'mine');
  assert.equal(t.values.get('rto_min')?.value, '150');
  assert.equal(t.values.get('rto_max')?.value, '1000');
  const e = await loadProfile({ name: 'extra' }, d);
  assert.equal(e.values.get('pf_retrans')?.value, '2'); // later include wins
  assert.equal(e.values.get('hb_interval')?.value, '5'); // own key wins
  const list = await listProfiles(d);
  assert.deepEqual(list.map((p) => [p.name, p.source, p.overrides]), [['base', 'shipped', false], ['extra', 'user', false], ['more', 'shipped', false], ['telecom', 'user', true]]);
});

test('property: the parser only ever throws SctpdiagError(USAGE)', () => {
  const line = fc.oneof(
    fc.string(),
    fc.constantFrom('rto_min = 100', 'include = x', '# c', '', 'description = d', 'pf_retrans = 99999999999999', 'a=b=c', '= 1', 'rto_max = 1 # x'),
    fc.tuple(fc.constantFrom(...catalog.map((k) => k.name)), fc.string()).map(([k, v]) => `${k} = ${v}`),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
      try {
        parseProfile(lines.join('\n'), 'p.conf');
      } catch (e) {
        assert.ok(e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && e.message.startsWith('p.conf:'), String(e));
      }
    }),
    { numRuns: 500 },
  );
});
