// Doctor checks on real captures and synthetic sysctl sets / facts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSnapshot } from '../../src/procfs/read.js';
import { readSysctls } from '../../src/procfs/sysctls.js';
import { runChecks, checkAddipNoauth, checkAddipWithoutAuth, checkAutoAsconf, checkPfDisabled, checkRtoInitial, checkAssocMaxRetrans, checkFailoverTarget, checkLocallySingleHomed, checkPathStates, checkPrimaryNotActive, checkRetransmissions, checkStaleSettings, checkPathDiversity, checkProfileDrift, checkSctpModule, checkSctpDiag, checkProbeSupport, checkEventSources, checkPrivileges, checkHz, checkPeerSingleHomed, checkNoActivePath, CHECKS } from '../../src/doctor/checks.js';
import { buildReport, exitCodeFor, worstSeverity } from '../../src/doctor/report.js';
import { failoverFromSysctls } from '../../src/doctor/gather.js';
import type { DoctorFacts, PlatformFacts, RouteInfo } from '../../src/doctor/types.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { EXIT } from '../../src/errors.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');

async function facts(capture: string, over: Partial<DoctorFacts> = {}): Promise<DoctorFacts> {
  const dir = join(CAPS, capture);
  const snapshot = await readSnapshot({ procRoot: dir, netns: null });
  const m = await readSysctls(dir);
  const sysctls = m ? Object.fromEntries(m) : null;
  return {
    platform: null, sysctls, snapshot, later: null, sampleMs: null, hostAddresses: null, routes: null,
    failoverTargetMs: null, failover: sysctls ? failoverFromSysctls(sysctls) : null, drift: null, ...over,
  };
}

const withSysctls = (f: DoctorFacts, s: Record<string, string>): DoctorFacts => ({ ...f, sysctls: { ...f.sysctls, ...s } });

const goodPlatform: PlatformFacts = {
  sctpModule: true, sctpBuiltin: false, sctpDiagModule: true, bpftraceVersion: 'bpftrace v0.17.0',
  btfVmlinux: true, btfSctp: true, kprobeEvents: '/sys/kernel/tracing/kprobe_events', uid: 0, capEff: 0x1ffffffffffn,
};

test('every check returns exactly one result with id, severity, title, evidence, remedy', async () => {
  const f = await facts('two-path-a', { platform: goodPlatform, hostAddresses: [], routes: new Map() });
  const rs = runChecks(f);
  assert.equal(rs.length, CHECKS.length);
  for (const r of rs) {
    assert.match(r.id, /^[a-z-]+\.[a-z0-9.-]+$/);
    assert.ok(['ok', 'info', 'warn', 'fail'].includes(r.severity));
    assert.ok(r.title.length > 0 && Array.isArray(r.evidence));
    if (r.severity === 'warn' || r.severity === 'fail') assert.ok(r.remedy.length > 0, `${r.id} needs a remedy`);
  }
  assert.equal(new Set(rs.map((r) => r.id)).size, rs.length, 'ids are unique');
});

test('two-path-a capture: locally single-homed associations flagged (bind pitfall)', async () => {
  const f = await facts('two-path-a');
  const r = checkLocallySingleHomed(f);
  assert.equal(r.severity, 'warn');
  assert.deepEqual(r.associations, [5, 7]);
  // host with a single address: nothing else to bind → info only
  const single = checkLocallySingleHomed({ ...f, hostAddresses: ['10.1.0.1'] });
  assert.equal(single.severity, 'warn', 'assoc 5 uses 10.2.0.1, which is not the host address: still the pitfall for it');
  const onlyOne = checkLocallySingleHomed({ ...f, hostAddresses: ['10.1.0.1', 'fd00::1'] });
  assert.equal(onlyOne.severity, 'warn');
  const none = checkLocallySingleHomed({ ...f, hostAddresses: [] });
  assert.equal(none.severity, 'info');
  const two = checkLocallySingleHomed({ ...f, hostAddresses: ['10.1.0.1', '10.2.0.1'] });
  assert.equal(two.severity, 'warn');
  assert.ok(two.evidence.some((e) => e.includes('host addresses: 10.1.0.1 10.2.0.1')));
});

test('two-path-a-fail-t6 capture: INACTIVE paths and primary not active are warnings', async () => {
  const f = await facts('two-path-a-fail-t6');
  const p = checkPathStates(f);
  assert.equal(p.severity, 'warn');
  assert.match(p.title, /2 INACTIVE/);
  assert.doesNotMatch(p.title, /UNKNOWN/);
  assert.deepEqual(p.associations, [3, 5]);
  const prim = checkPrimaryNotActive(f);
  assert.equal(prim.severity, 'warn');
  assert.deepEqual(prim.associations, [3]);
  assert.equal(checkNoActivePath(f).severity, 'ok');
  const rep = buildReport(f, 'test');
  assert.equal(rep.worst, 'warn');
  assert.equal(rep.exitCode, EXIT.DOCTOR_WARN);
  assert.equal(rep.capture, true);
  assert.equal(rep.checks.filter((c) => c.category === 'platform').length, 2, 'platform collapsed to one line + hz');
});

test('healthy fixture paths: all ACTIVE, primary active, peer multi-homed', async () => {
  const f = await facts('two-path-b');
  assert.equal(checkPathStates(f).severity, 'ok');
  assert.equal(checkPrimaryNotActive(f).severity, 'ok');
  const peer = checkPeerSingleHomed(f);
  assert.equal(peer.severity, 'info', 'two-path-b has peers 6003/6002 single-homed');
  assert.deepEqual(peer.associations, [6, 8]);
});

test('no active path → fail, exit 9', async () => {
  const f = await facts('two-path-a-fail-t6');
  const snap = structuredClone(f.snapshot!) as Snapshot;
  const a = snap.associations.find((x) => x.id === 3)!;
  a.findings = [...a.findings, { code: 'no-active-path', severity: 'fail', message: 'no path is ACTIVE or PF' }];
  const g = { ...f, snapshot: snap };
  assert.equal(checkNoActivePath(g).severity, 'fail');
  const rep = buildReport(g, 'h');
  assert.equal(rep.exitCode, EXIT.DOCTOR_FAIL);
});

test('sysctl hazards on synthetic sets', async () => {
  const f = await facts('two-path-a');
  assert.equal(checkAddipNoauth(f).severity, 'ok');
  const noauth = checkAddipNoauth(withSysctls(f, { addip_noauth_enable: '1' }));
  assert.equal(noauth.severity, 'fail');
  assert.ok(noauth.evidence.includes('net.sctp.addip_noauth_enable = 1'));
  assert.equal(checkAddipWithoutAuth(withSysctls(f, { addip_enable: '1', auth_enable: '0' })).severity, 'warn');
  assert.equal(checkAddipWithoutAuth(withSysctls(f, { addip_enable: '1', auth_enable: '1' })).severity, 'ok');
  assert.equal(checkAutoAsconf(withSysctls(f, { default_auto_asconf: '1', addip_enable: '0' })).severity, 'warn');
  assert.equal(checkAutoAsconf(withSysctls(f, { default_auto_asconf: '1', addip_enable: '1' })).severity, 'ok');
  assert.equal(checkPfDisabled(withSysctls(f, { pf_retrans: '5', path_max_retrans: '5' })).severity, 'warn');
  assert.equal(checkPfDisabled(withSysctls(f, { pf_retrans: '0', path_max_retrans: '5' })).severity, 'ok');
  // PF needs pf_retrans < error count < path_max_retrans: pf 4 / pmr 5 never enters PF, pf 3 / pmr 5 does
  assert.equal(checkPfDisabled(withSysctls(f, { pf_retrans: '4', path_max_retrans: '5' })).severity, 'warn');
  assert.equal(checkPfDisabled(withSysctls(f, { pf_retrans: '3', path_max_retrans: '5' })).severity, 'ok');
  assert.equal(checkRtoInitial(withSysctls(f, { rto_initial: '100', rto_min: '200', rto_max: '1000' })).severity, 'warn');
  assert.equal(checkRtoInitial(withSysctls(f, { rto_initial: '5000', rto_min: '200', rto_max: '1000' })).severity, 'warn');
  assert.equal(checkRtoInitial(f).severity, 'ok');
  assert.equal(checkAddipNoauth({ ...f, sysctls: null }).severity, 'info');
});

test('RFC 4960 §8.2 on live multi-homed associations (fixture: 10 > 2 + 2)', async () => {
  const f = await facts('two-path-a');
  const r = checkAssocMaxRetrans(f);
  assert.equal(r.severity, 'warn');
  assert.deepEqual(r.associations, [3, 5, 7]);
  assert.ok(r.evidence.some((e) => e.includes('max retrans 10 > 2 + 2')));
  // no multi-homed association: judged on the sysctls for two paths, info only
  const empty = { ...f, snapshot: { ...f.snapshot!, associations: [] } };
  assert.equal(checkAssocMaxRetrans(empty).severity, 'info');
  assert.equal(checkAssocMaxRetrans(withSysctls(empty, { association_max_retrans: '4' })).severity, 'ok');
});

test('failover target uses the failover model', async () => {
  const f = await facts('two-path-a');
  assert.equal(checkFailoverTarget(f).severity, 'info');
  assert.equal(checkFailoverTarget({ ...f, failoverTargetMs: 100 }).severity, 'warn');
  assert.equal(checkFailoverTarget({ ...f, failoverTargetMs: 60_000 }).severity, 'ok');
  const slow = failoverFromSysctls({ ...f.sysctls!, rto_min: '1000', rto_max: '60000', rto_initial: '3000', pf_retrans: '0', path_max_retrans: '5' });
  assert.ok(slow.failoverMs >= f.failover!.failoverMs);
  // telecom on Linux 5.10: traffic moves as soon (PF), INACTIVE later (the first heartbeat after PF may wait for the ACTIVE path's timer)
  const telecom = { ...f.sysctls!, rto_min: '100', rto_max: '200', pf_retrans: '0', path_max_retrans: '2', hb_interval: '1000' };
  const [new61, old510] = [failoverFromSysctls(telecom, '6.1.0-57-amd64'), failoverFromSysctls(telecom, '5.10.0-32-amd64')];
  assert.equal(old510.failoverMs, new61.failoverMs);
  assert.match(new61.model, /INACTIVE after 950 ms/);
  assert.match(old510.model, /INACTIVE after 1\.25 s/);
});

test('stale settings: associations created before a tune', async () => {
  const f = await facts('two-path-a');
  assert.equal(checkStaleSettings(f).severity, 'ok', 'fixture matches its sysctls');
  const tuned = checkStaleSettings(withSysctls(f, { hb_interval: '5000', path_max_retrans: '4' }));
  assert.equal(tuned.severity, 'warn');
  assert.ok(tuned.evidence[0]!.includes('hb interval 1000 ms ≠ hb_interval 5000'));
  assert.ok(tuned.evidence[0]!.includes('path max retrans 2 ≠ path_max_retrans 4'));
  // one jiffy of rounding tolerated
  assert.equal(checkStaleSettings(withSysctls(f, { hb_interval: '1003' })).severity, 'ok');
});

test('retransmissions growing needs two samples', async () => {
  const f = await facts('two-path-a');
  assert.equal(checkRetransmissions(f).severity, 'info');
  assert.match(checkRetransmissions(f).title, /--sample/);
  const later = structuredClone(f.snapshot!) as Snapshot;
  assert.equal(checkRetransmissions({ ...f, later, sampleMs: 1000 }).severity, 'ok');
  later.associations[0]!.retransmittedChunks += 7;
  later.snmp['SctpT3Retransmits'] = (later.snmp['SctpT3Retransmits'] ?? 0) + 7;
  const r = checkRetransmissions({ ...f, later, sampleMs: 1000 });
  assert.equal(r.severity, 'warn');
  assert.ok(r.evidence.some((e) => e.includes('+7 retransmitted chunk(s) in 1000 ms')));
});

test('path diversity: two paths through the same interface and next hop', async () => {
  const f = await facts('two-path-a');
  const route = (dst: string, dev: string, gateway: string | null): [string, RouteInfo] => [dst, { dst, dev, gateway, prefsrc: null }];
  const diverse = new Map([route('10.1.0.2', 'va1', null), route('10.2.0.2', 'va2', null)]);
  assert.equal(checkPathDiversity({ ...f, routes: diverse }).severity, 'ok');
  const shared = new Map([route('10.1.0.2', 'eth0', '192.0.2.1'), route('10.2.0.2', 'eth0', '192.0.2.1')]);
  const r = checkPathDiversity({ ...f, routes: shared });
  assert.equal(r.severity, 'warn');
  assert.deepEqual(r.associations, [3, 5, 7]);
  assert.ok(r.evidence[0]!.includes('all leave through eth0 via 192.0.2.1'));
  // same device, different next hops: diverse enough at L3
  const gw = new Map([route('10.1.0.2', 'eth0', '192.0.2.1'), route('10.2.0.2', 'eth0', '192.0.2.254')]);
  assert.equal(checkPathDiversity({ ...f, routes: gw }).severity, 'ok');
  assert.equal(checkPathDiversity(f).severity, 'info', 'capture: routes unknown');
});

test('profile drift', async () => {
  const f = await facts('two-path-a');
  assert.equal(checkProfileDrift(f).severity, 'info');
  assert.equal(checkProfileDrift({ ...f, drift: { profile: 'fast', drifted: [] } }).severity, 'ok');
  const d = checkProfileDrift({ ...f, drift: { profile: 'fast', drifted: [{ key: 'rto_min', expected: '200', actual: '1000' }] } });
  assert.equal(d.severity, 'warn');
  assert.deepEqual(d.evidence, ['net.sctp.rto_min: profile 200, live 1000']);
});

test('platform checks', async () => {
  const f = await facts('two-path-a', { platform: goodPlatform });
  for (const c of [checkSctpModule, checkSctpDiag, checkProbeSupport, checkPrivileges]) assert.equal(c(f).severity, 'ok', c(f).id);
  const p = (over: Partial<PlatformFacts>) => ({ ...f, platform: { ...goodPlatform, ...over } });
  assert.equal(checkSctpModule(p({ sctpModule: false, sctpBuiltin: false })).severity, 'fail');
  assert.equal(checkSctpModule(p({ sctpModule: false, sctpBuiltin: true })).severity, 'ok');
  assert.equal(checkSctpDiag(p({ sctpDiagModule: false })).severity, 'warn');
  assert.equal(checkProbeSupport(p({ kprobeEvents: null })).severity, 'warn');
  assert.equal(checkProbeSupport(p({ kprobeEvents: null, bpftraceVersion: null })).severity, 'info');
  assert.equal(checkProbeSupport(p({ btfSctp: false })).severity, 'info');
  assert.match(checkProbeSupport(p({ btfSctp: false })).title, /no BTF for the sctp module: no bpf events; .* procfs/);
  const kp = checkProbeSupport(p({ btfSctp: false, eventSources: [{ type: 'path.state', source: 'bpf', reason: 'offered', detail: '' }, { type: 'path.primary', source: 'procfs', reason: 'no-btf', detail: 'no BTF' }] }));
  assert.match(kp.title, /no BTF for the sctp module: path\.state from bpf kprobes with the kernel headers/);
  const user = checkPrivileges(p({ uid: 1000, capEff: 0n }));
  assert.equal(user.severity, 'info');
  assert.ok(user.evidence.some((e) => e.includes('bpf events')));
  assert.equal(checkPrivileges(p({ uid: 1000, capEff: (1n << 12n) | (1n << 38n) | (1n << 39n) })).severity, 'info', 'owners still limited');
  assert.equal(checkHz(f).severity, 'ok');
  const assumed = { ...f, snapshot: { ...f.snapshot!, hz: { value: 250, source: 'assumed' as const, detail: 'x' } } };
  assert.equal(checkHz(assumed).severity, 'warn');
});

test('platform.event-sources: every type with its source; what is missing named, the headers package among them', async () => {
  const f = await facts('two-path-a', { platform: goodPlatform });
  const p = (eventSources: PlatformFacts['eventSources']) => checkEventSources({ ...f, platform: { ...goodPlatform, eventSources } });
  assert.equal(p(null).severity, 'info');
  const all = p([{ type: 'path.state', source: 'bpf', reason: 'offered', detail: 'the kernel offers its probes' }]);
  assert.equal(all.severity, 'ok');
  assert.deepEqual(all.evidence, ['bpf: path.state']);
  const headers = 'no BTF for the sctp module and no kernel headers (apt-get install linux-headers-5.10.0-32-amd64)';
  const old = p([
    { type: 'path.state', source: 'procfs', reason: 'no-headers', detail: headers },
    { type: 'path.heartbeat', source: 'none', reason: 'no-headers', detail: headers },
    { type: 'path.rtx_timeout', source: 'none', reason: 'no-headers', detail: headers },
  ]);
  assert.equal(old.severity, 'info');
  assert.match(old.title, /3 of 3 event types not from bpf: no-headers/);
  assert.deepEqual(old.evidence, [`procfs: path.state (${headers})`, `none: path.heartbeat, path.rtx_timeout (${headers})`]);
  assert.match(old.remedy, /install the kernel headers \(linux-headers-5\.10\.0-32-amd64\)/);
});

test('worst severity and exit codes', () => {
  assert.equal(exitCodeFor('ok'), 0);
  assert.equal(exitCodeFor('info'), 0);
  assert.equal(exitCodeFor('warn'), EXIT.DOCTOR_WARN);
  assert.equal(exitCodeFor('fail'), EXIT.DOCTOR_FAIL);
  const mk = (severity: 'ok' | 'info' | 'warn' | 'fail') => ({ id: 'x.y', category: 'sysctl' as const, severity, title: 't', evidence: [], remedy: '' });
  assert.equal(worstSeverity([mk('ok'), mk('warn'), mk('info')]), 'warn');
  assert.equal(worstSeverity([]), 'ok');
});

test('evidence is capped for large captures (many-a: 201 associations)', async () => {
  const f = await facts('many-a');
  const r = checkAssocMaxRetrans(f);
  assert.equal(r.associations?.length, 201);
  assert.equal(r.evidence.length, 11);
  assert.match(r.evidence[10]!, /and 191 more/);
  void readFile;
});

test('assoc.failover-unverified: multi-homed associations without a passed drill on record; records validated and bounded', async () => {
  const { checkFailoverVerified } = await import('../../src/doctor/checks.js');
  const { parseRecords, appendRecord, readRecords, MAX_RECORDS, DRILLS_FILE } = await import('../../src/drill/record.js');
  const { mkdtemp, writeFile: wf, symlink, readFile: rf } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const text = await readFile(join(process.cwd(), 'test/fixtures/drills/drills.json'), 'utf8');
  const parsed = parseRecords(text);
  // the fixture: 6001's drill of 10.1.0.2, and three entries no drill wrote (a port 0, a path that is no address, a control character)
  assert.equal(parsed.records.length, 2);
  assert.equal(parsed.refused, 3);
  const f = await facts('two-path-a', { drills: parsed });
  const r = checkFailoverVerified(f);
  assert.equal(r.severity, 'info');
  // association 3 (6001 → 5001, netns a as captured) was drilled; 5 and 7 never were (the record for 6002 → 5000 is for another netns)
  assert.deepEqual(r.associations, [5, 7]);
  assert.match(r.title, /failover never verified on 2 multi-homed association\(s\)/);
  assert.match(r.evidence.join('\n'), /assoc 5 :6002→:5000 \(ESTABLISHED\): failover never verified on this link\/association/);
  assert.match(r.evidence.join('\n'), /3 invalid drill record\(s\) ignored/);
  assert.match(r.remedy, /sctpdiag drill --assoc ID --path ADDR/);
  assert.match(r.remedy, /Runbook: proving failover with drill.*sctpdiag\(8\)/);
  // all drilled: ok; a capture: not checked; garbage: nothing believed
  const all = [...parsed.records, ...[['6002', '5000'], ['6003', '5000']].map(([l, p]) => ({ ...parsed.records[0]!, localPort: Number(l), peerPort: Number(p), path: '10.2.0.2' }))];
  assert.equal(checkFailoverVerified(await facts('two-path-a', { drills: { records: all, refused: 0 } })).severity, 'ok');
  assert.match(checkFailoverVerified(await facts('two-path-a')).title, /not checked/);
  assert.deepEqual(parseRecords('{"version":2,"drills":[]}'), { records: [], refused: 1 });
  assert.deepEqual(parseRecords('not json'), { records: [], refused: 1 });
  // written atomically, bounded to the newest MAX_RECORDS, never through a symlink
  const dir = await mkdtemp(join(tmpdir(), 'drills-'));
  for (let i = 0; i < MAX_RECORDS + 5; i++) await appendRecord(dir, { ...parsed.records[0]!, localPort: 1000 + i });
  const back = await readRecords(dir);
  assert.equal(back.records.length, MAX_RECORDS);
  assert.equal(back.records.at(-1)!.localPort, 1000 + MAX_RECORDS + 4);
  assert.equal(back.records[0]!.localPort, 1005);
  const evil = await mkdtemp(join(tmpdir(), 'drills-evil-'));
  await wf(join(evil, 'target'), 'keep');
  await symlink(join(evil, 'target'), join(evil, DRILLS_FILE));
  await assert.rejects(appendRecord(evil, parsed.records[0]!), /symbolic link|refus/);
  assert.equal(await rf(join(evil, 'target'), 'utf8'), 'keep');
  await assert.rejects(readRecords(evil));
});
