// Doctor with a links file, on real captures: findings name the link of each association,
// and links.expected finds links that are down or below their min-active.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { runChecks, checkExpectedLinks, checkPathStates, checkPrimaryNotActive, checkLocallySingleHomed, CHECKS } from '../../src/doctor/checks.js';
import { checkConntrack } from '../../src/doctor/field.js';
import { buildReport, printReport } from '../../src/doctor/report.js';
import { gatherFacts } from '../../src/doctor/gather.js';
import type { DoctorFacts } from '../../src/doctor/types.js';
import { parseLinks } from '../../src/links/links.js';
import { plain } from '../../src/render/style.js';
import { EXIT } from '../../src/errors.js';
import { CLI } from '../helpers.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');
const STATE = mkdtempSync(join(tmpdir(), 'doctor-links-state-'));

// assoc 7: 6003→5000, assoc 3: 6001→5001, assoc 5: 6002→5000 (peers 10.1.0.2 and 10.2.0.2)
const LINKS = parseLinks(
  `m3ua-a local-port=6003 min-active=2
m3ua-b peer=10.1.0.2 peer-port=5001 min-active=2
diam-c local-port=6002
hss-1 peer-port=3868
`,
  'links.conf',
);

/** what `doctor --links` gathers from a capture (gatherFacts: no host, no external command) */
function facts(capture: string, links = LINKS): Promise<DoctorFacts> {
  return gatherFacts({ procRoot: join(CAPS, capture), netns: null, capture: true, fsRoot: null, stateDir: STATE, links });
}

test('links.expected on the failover capture: down (no association; not established), below min-active', async () => {
  const f = await facts('two-path-a-fail-t6');
  const r = checkExpectedLinks(f);
  assert.equal(r.id, 'links.expected');
  assert.equal(r.category, 'links');
  assert.equal(r.severity, 'fail');
  assert.equal(r.title, '2 of 4 expected link(s) down: m3ua-a, hss-1; 1 link(s) below min-active: m3ua-b');
  assert.deepEqual(r.evidence, [
    'link m3ua-a (local-port=6003 min-active=2): DOWN, none of its 1 association(s) is ESTABLISHED with an ACTIVE path: assoc 0 :6003→:5000 (COOKIE_WAIT) 10.1.0.2 UNKNOWN',
    'link hss-1 (peer-port=3868 min-active=1): DOWN, no association',
    'link m3ua-b (peer=10.1.0.2 peer-port=5001 min-active=2): 1 ACTIVE path(s), fewer than min-active 2: assoc 3 :6001→:5001 (ESTABLISHED) 10.1.0.2 INACTIVE, 10.2.0.2 ACTIVE',
    '1 other link(s) up with at least their min-active ACTIVE paths',
  ]);
  assert.deepEqual(r.associations, [0, 3]);
  assert.match(r.remedy, /Runbook: a link is down/);
  assert.match(r.remedy, /Runbook: a path is down/);
});

test('links.expected: only below min-active is a warning; all up is ok with evidence per link', async () => {
  const t6 = await facts('two-path-a-fail-t6', parseLinks('m3ua-b peer-port=5001 min-active=2\ndiam-c local-port=6002', 'f'));
  const w = checkExpectedLinks(t6);
  assert.equal(w.severity, 'warn');
  assert.equal(w.title, '1 link(s) below min-active: m3ua-b');
  assert.doesNotMatch(w.remedy, /link is down/);
  const ok = checkExpectedLinks(await facts('two-path-a'));
  assert.equal(ok.severity, 'fail', 'hss-1 has no association in any capture');
  const up = checkExpectedLinks(await facts('two-path-a', LINKS.filter((l) => l.name !== 'hss-1')));
  assert.equal(up.severity, 'ok');
  assert.equal(up.title, '3 link(s) up with at least their min-active ACTIVE paths');
  assert.equal(up.evidence[0], 'link m3ua-a (local-port=6003 min-active=2): up, 2 ACTIVE path(s)');
});

test('links.expected without a links file, or without a snapshot: info, not checked', async () => {
  const none = checkExpectedLinks(await facts('two-path-a', []));
  assert.equal(none.severity, 'info');
  assert.match(none.title, /no links file/);
  assert.match(none.remedy, /links\.conf/);
  const noSnap = checkExpectedLinks({ ...(await facts('two-path-a')), snapshot: null });
  assert.equal(noSnap.severity, 'info');
});

test('association findings name the link; JSON results list the links concerned', async () => {
  const f = await facts('two-path-a-fail-t6');
  const paths = checkPathStates(f);
  assert.ok(paths.evidence.some((e) => /^assoc 3 :6001→:5001 \(ESTABLISHED\) link m3ua-b: /.test(e)), paths.evidence.join('\n'));
  assert.ok(paths.evidence.some((e) => /^assoc 5 :6002→:5000 \(ESTABLISHED\) link diam-c: /.test(e)));
  const primary = checkPrimaryNotActive(f);
  assert.match(primary.evidence[0]!, /^assoc 3 .* link m3ua-b: /);
  const single = checkLocallySingleHomed(f);
  assert.ok(single.evidence.some((e) => /^assoc 5 .* link diam-c: local /.test(e)));
  const conntrack = checkConntrack(f, { modules: null, rpFilter: null, sctpMem: null, ipvs: null, nat: null, conntrack: { loaded: true, sctpSysctls: [] } });
  assert.ok(conntrack.evidence.some((e) => /^assoc 3 .* link m3ua-b: 2 paths/.test(e)));
  const rs = runChecks(f);
  assert.ok(CHECKS.includes(checkExpectedLinks));
  const byId = new Map(rs.map((r) => [r.id, r]));
  assert.deepEqual(byId.get('assoc.path-state')!.links, ['diam-c', 'm3ua-b']);
  assert.deepEqual(byId.get('assoc.primary-not-active')!.links, ['m3ua-b']);
  assert.deepEqual(byId.get('links.expected')!.links, ['m3ua-a', 'm3ua-b']);
  // without a links file: no link in the evidence, no links field
  const bare = runChecks(await facts('two-path-a-fail-t6', []));
  assert.ok(bare.every((r) => r.links === undefined && r.evidence.every((e) => !/ link /.test(e))));
  const report = buildReport(f, 'h', rs);
  assert.equal(report.exitCode, EXIT.DOCTOR_FAIL);
  const text = printReport(report, plain);
  assert.match(text, /^links\n {2}FAIL {2}2 of 4 expected link\(s\) down: m3ua-a, hss-1; .*\[links\.expected\]$/m);
  assert.match(text, /· link hss-1 \(peer-port=3868 min-active=1\): DOWN, no association/);
});

test('doctor --links on a capture: the links file is read, bad files exit 2 with file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-links-'));
  const good = join(dir, 'links.conf');
  writeFileSync(good, 'm3ua-b peer=10.1.0.2 peer-port=5001 min-active=2\nhss-1 peer-port=3868\n');
  const r = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-a-fail-t6'), '--json', 'doctor', '--links', good], { encoding: 'utf8' });
  assert.equal(r.status, EXIT.DOCTOR_FAIL, r.stderr);
  const rep = JSON.parse(r.stdout) as { checks: { id: string; severity: string; links?: string[] }[] };
  const l = rep.checks.find((c) => c.id === 'links.expected')!;
  assert.equal(l.severity, 'fail');
  assert.deepEqual(l.links, ['m3ua-b']);
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'x min-active=0\n');
  const b = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-a'), 'doctor', '--links', bad], { encoding: 'utf8' });
  assert.equal(b.status, EXIT.USAGE);
  assert.match(b.stderr, /bad\.conf:1: min-active: "0" is not a number 1–99/);
});
