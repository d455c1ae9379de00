import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  catalog,
  checkRules,
  cookieHmacValues,
  defaultFor,
  lookupKey,
  validateValue,
} from '../../src/kernel/sysctl-catalog.js';
import { readSysctls } from '../../src/procfs/sysctls.js';
import { seedFakeProc } from '../helpers.js';
import { ROOT, parseSysctlDump } from '../helpers.js';
const repoFile = (p: string) => join(ROOT, p);

const fixture = async () => parseSysctlDump(await readFile(repoFile('test/fixtures/linux-6.1/sysctl_defaults.txt'), 'utf8'));

test('catalog covers exactly the keys of a real 6.1 kernel (plus later ones)', async () => {
  const real = await fixture();
  for (const k of real.keys()) assert.ok(lookupKey(k), `6.1 key ${k} missing from the catalog`);
  for (const k of catalog) {
    if (k.since === '6.1') assert.ok(real.has(k.name), `catalog says ${k.name} exists on 6.1`);
    else assert.ok(!real.has(k.name), `${k.name} should not exist on 6.1`);
  }
});

test('catalog defaults match the real 6.1 values', async () => {
  const real = await fixture();
  for (const k of catalog) {
    const d = defaultFor(k, { release: '6.1.0-56-amd64', hz: 250 });
    if (d === null || !real.has(k.name)) continue;
    assert.equal(d, real.get(k.name), k.name);
  }
  // HZ-dependent default
  assert.equal(defaultFor(lookupKey('max_autoclose')!, { hz: 250 }), '8589934');
  assert.equal(defaultFor(lookupKey('sctp_mem')!), null);
});

test('every live value of the 6.1 capture validates', async () => {
  for (const [k, v] of await fixture()) {
    const r = validateValue(k, v, { release: '6.1.0' });
    assert.ok(r.ok, `${k}=${v}: ${JSON.stringify(r)}`);
  }
});

test('validateValue: ranges, types, kernel-specific strings', () => {
  const bad = (k: string, v: string, kernel = {}) => assert.equal(validateValue(k, v, kernel).ok, false, `${k}=${v} should fail`);
  const good = (k: string, v: string, kernel = {}) => assert.ok(validateValue(k, v, kernel).ok, `${k}=${v} should pass`);
  bad('sack_timeout', '0'); good('sack_timeout', '1'); good('sack_timeout', '500'); bad('sack_timeout', '501');
  bad('plpmtud_probe_interval', '100'); good('plpmtud_probe_interval', '0'); good('plpmtud_probe_interval', '5000'); bad('plpmtud_probe_interval', '4999');
  bad('pf_expose', '3'); good('pf_expose', '2');
  bad('rto_min', '0'); good('rto_min', '1'); bad('rto_min', '86400001'); bad('rto_min', 'abc'); bad('rto_min', '1.5'); bad('rto_min', '');
  bad('ps_retrans', '65536'); good('ps_retrans', '65535');
  bad('addip_enable', '2'); good('net.sctp.addip_enable', '1');
  bad('nonexistent', '1');
  good('sctp_rmem', '4096\t865500  1944544'); bad('sctp_rmem', '4096 865500'); bad('sctp_wmem', '9 8 7');
  good('cookie_hmac_alg', 'sha1', { release: '6.1.0' }); bad('cookie_hmac_alg', 'sha256', { release: '6.1.0' });
  good('cookie_hmac_alg', 'sha256', { release: '6.18.2' }); bad('cookie_hmac_alg', 'md5', { release: '6.18.2' });
  assert.deepEqual(cookieHmacValues({ release: '6.18.0' }), ['sha256', 'none']);
  const r = validateValue('rto_min', ' 0200 ');
  assert.deepEqual(r, { ok: true, value: '200' });
});

test('checkRules: kernel bounds are errors, unwise combinations are warnings', () => {
  const rules = (v: Record<string, string>) => checkRules(v).map((f) => `${f.level}:${f.rule}`);
  assert.deepEqual(rules({ rto_min: '2000', rto_max: '1000' }), ['error:rto-order']);
  assert.deepEqual(rules({ pf_retrans: '10', ps_retrans: '5' }), ['error:pf-ps-order']);
  assert.deepEqual(rules({ pf_retrans: '5', path_max_retrans: '5', ps_retrans: '65535' }), ['warn:pf-disabled']);
  assert.deepEqual(rules({ pf_retrans: '5', path_max_retrans: '5', pf_enable: '0' }), []);
  assert.deepEqual(rules({ rto_initial: '3000', rto_min: '100', rto_max: '1000' }), ['warn:rto-initial-range']);
  assert.deepEqual(rules({ addip_enable: '1', auth_enable: '0' }), ['warn:addip-without-auth']);
  assert.deepEqual(rules({ default_auto_asconf: '1', addip_enable: '0' }), ['warn:auto-asconf-without-addip']);
  assert.deepEqual(rules({ association_max_retrans: '10', path_max_retrans: '2' }), ['warn:rfc4960-8.2']);
  assert.deepEqual(checkRules({ association_max_retrans: '10', path_max_retrans: '2' }, { paths: 5 }), []);
});

test('the real 6.1 defaults break no rule', async () => {
  assert.deepEqual(checkRules(Object.fromEntries(await fixture())), []);
});

test('readSysctls reads a /proc stand-in and normalises whitespace; null without SCTP', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sctpdiag-cat-'));
  await seedFakeProc(dir, new Map([['rto_min', '1000'], ['sctp_mem', '45573\t60767\t91146']]));
  const m = await readSysctls(dir);
  assert.equal(m?.get('rto_min'), '1000');
  assert.equal(m?.get('sctp_mem'), '45573 60767 91146');
  assert.equal(await readSysctls(join(dir, 'nope')), null);
});
