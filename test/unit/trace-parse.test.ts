// bpftrace 0.17 JSON lines (real output recorded on the lab kernel 6.1) and
// sctpdiag probe records → typed events.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import { parseBpftraceLine, parseProbeLine } from '../../src/trace/bpfjson.js';
import { BpfEventMapper, decodeAddr, type Clock } from '../../src/trace/bpfmap.js';

const fx = (p: string) => readFileSync(join(PACKAGE_ROOT, 'test/fixtures/linux-6.1-debian', p), 'utf8');

// kernel monotonic 1000 s; wall 2026-01-01T00:00:00Z
const clock: Clock = { wallMs: () => Date.UTC(2026, 0, 1), monoNs: () => 1_000_000_000_000n };
const mapper = () => new BpfEventMapper({ netns: 'a', hz: 250, clock });

test('real bpftrace 0.17 output: every line parses; types attached_probes, printf, map, time', () => {
  const lines = fx('two-path-failover/bpftrace_json_sample.txt').split('\n');
  const kinds = new Map<string, number>();
  for (const l of lines) {
    const r = parseBpftraceLine(l);
    if (!r) continue;
    kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  }
  assert.equal(kinds.get('malformed'), undefined);
  assert.equal(kinds.get('attached'), 1);
  assert.ok((kinds.get('printf') ?? 0) > 20);
  assert.ok((kinds.get('map') ?? 0) >= 3);
  assert.ok((kinds.get('time') ?? 0) >= 3);
  const map = parseBpftraceLine('{"type": "map", "data": {"@n": {"0": 2, "2": 26}}}');
  assert.deepEqual(map, { kind: 'map', name: '@n', entries: { '0': 2, '2': 26 } });
  assert.deepEqual(parseBpftraceLine('{"type": "attached_probes", "data": {"probes": 3}}'), { kind: 'attached', probes: 3 });
  assert.deepEqual(parseBpftraceLine('{"type": "time", "data": "14:58:40\\n"}'), { kind: 'time', text: '14:58:40' });
});

test('real kfunc output: foreign printf lines are counted, not turned into events', () => {
  const m = mapper();
  let events = 0;
  for (const l of fx('ipv6-asconf-many/bpftrace_kfunc_ctl.txt').split('\n')) {
    const r = parseBpftraceLine(l);
    if (r) events += m.map(r).length;
  }
  assert.equal(events, 0);
  assert.equal(m.attachedProbes, 1);
  assert.ok(m.stats.foreignPrintf > 700);
  assert.equal(m.stats.malformed, 0);
});

test('malformed and unknown lines never throw', () => {
  const bad = [
    'not json',
    '{"type": "printf", "data": ',
    '[1,2]',
    '{"data": 1}',
    '{"type": "attached_probes", "data": {"probes": "x"}}',
    '{"type": "printf", "data": 5}',
    '{"type": "lost_events", "data": {"events": -1}}',
    '{"type": "map", "data": []}',
    'x'.repeat(70_000),
    '{"type":"printf","data":"SCTPDIAG path ts=1 asoc=3; rm -rf /\\n"}',
  ];
  const m = mapper();
  for (const l of bad) {
    const r = parseBpftraceLine(l);
    assert.ok(r);
    assert.doesNotThrow(() => m.map(r));
  }
  assert.equal(parseBpftraceLine('   '), null);
  assert.deepEqual(parseBpftraceLine('{"type": "hist", "data": {}}'), { kind: 'unknown', type: 'hist' });
  assert.equal(m.stats.malformed, 9);
  assert.equal(parseProbeLine('SCTPDIAG path ts=1 asoc=$(id)'), null);
  assert.equal(parseProbeLine('ctl asoc=3'), null);
});

test('lost events are surfaced as probe.lost_events with a running total', () => {
  const m = mapper();
  const a = m.map(parseBpftraceLine('{"type": "lost_events", "data": {"events": 12}}')!);
  const b = m.map(parseBpftraceLine('{"type": "lost_events", "data": {"events": 3}}')!);
  assert.equal(a[0]!.type, 'probe.lost_events');
  assert.deepEqual(b[0]!.metrics, { count: 3, total: 15 });
  assert.equal(b[0]!.severity, 'warn');
});

const pf = (text: string) => JSON.stringify({ type: 'printf', data: text + '\n' });

test('addresses: IPv4 and IPv6 decoded from host-order words', () => {
  // 10.1.0.2 as the u32 a little-endian host reads from s_addr
  assert.equal(decodeAddr(2, 0x0200010a, []), '10.1.0.2');
  // fd00:3::2 = fd 00 00 03 00 00 00 00 | 0 | 0 | 00 00 00 02
  assert.equal(decodeAddr(10, 0, [0x0300_00fd, 0, 0, 0x0200_0000]), 'fd00:3::2');
  assert.equal(decodeAddr(0, 0, [0, 0, 0, 0]), null);
});

test('path line → path.state with old/new state, active path, time from kernel clock', () => {
  const m = mapper();
  const line = pf('SCTPDIAG path ts=999500000000 asoc=3 lport=6001 rport=5001 cmd=1 err=0 from=1 to=0 fam=2 v4=33554698 w=0,0,0,0 afam=2 av4=33554954 aw=0,0,0,0');
  const [e] = m.map(parseBpftraceLine(line)!);
  assert.deepEqual(e, {
    schemaVersion: 1,
    time: '2025-12-31T23:59:59.500Z',
    kernelNs: '999500000000',
    type: 'path.state',
    source: 'bpf',
    severity: 'warn',
    netns: 'a',
    assoc: { id: 3, localPort: 6001, peerPort: 5001 },
    path: '10.1.0.2',
    from: 'PF',
    to: 'INACTIVE',
    activePath: '10.2.0.2',
    reason: 'DOWN (FAILED_THRESHOLD)',
  });
  const [v6] = m.map(parseBpftraceLine(pf('SCTPDIAG path ts=999500000000 asoc=9 lport=7001 rport=7000 cmd=2 err=0 from=2 to=1 fam=10 v4=0 w=50331901,0,0,33554432 afam=0 av4=0 aw=0,0,0,0'))!);
  assert.equal(v6!.path, 'fd00:3::2');
  assert.equal(v6!.to, 'PF');
  assert.equal(v6!.activePath, null);
});

test('primary, peers, asconf, lifecycle, rtx, heartbeat records', () => {
  const m = mapper();
  const ev = (t: string) => m.map(parseBpftraceLine(pf(t))!);
  assert.deepEqual(ev('SCTPDIAG primary ts=1 asoc=3 lport=1 rport=2 st=3 fam=2 v4=33554954 w=0,0,0,0 ofam=0 ov4=0 ow=0,0,0,0'), []);
  const [p] = ev('SCTPDIAG primary ts=1 asoc=3 lport=1 rport=2 st=3 fam=2 v4=33554954 w=0,0,0,0 ofam=2 ov4=33554698 ow=0,0,0,0');
  assert.equal(p!.type, 'path.primary');
  assert.equal(p!.from, '10.1.0.2');
  assert.equal(p!.to, '10.2.0.2');
  assert.deepEqual(ev('SCTPDIAG peer_add ts=1 asoc=0 lport=1 rport=2 st=1 fam=2 v4=33554954 w=0,0,0,0'), []);
  const [pa] = ev('SCTPDIAG peer_add ts=1 asoc=4 lport=1 rport=2 st=3 fam=2 v4=33555722 w=0,0,0,0');
  assert.equal(pa!.type, 'peer.added');
  assert.equal(pa!.path, '10.5.0.2');
  const [pr] = ev('SCTPDIAG peer_rm ts=1 asoc=4 lport=1 rport=2 st=3 fam=2 v4=33555722 w=0,0,0,0');
  assert.equal(pr!.type, 'peer.removed');
  assert.equal(ev('SCTPDIAG asconf ts=1 asoc=4 lport=1 rport=2 kind=1')[0]!.reason, 'ASCONF-ACK processed');
  const life = (st: number) => ev(`SCTPDIAG assoc ts=1 asoc=4 lport=1 rport=2 state=${st} error=0 outs=10 ins=10 fam=2 v4=33554954 w=0,0,0,0`)[0]!;
  assert.equal(life(0).type, 'assoc.up');
  assert.equal(life(1).type, 'assoc.down');
  assert.equal(life(1).severity, 'fail');
  assert.equal(life(1).reason, 'COMM_LOST');
  assert.equal(life(2).type, 'assoc.restart');
  assert.equal(life(3).severity, 'info');
  assert.equal(life(4).reason, 'CANT_STR_ASSOC');
  const [r] = ev('SCTPDIAG rtx ts=1 asoc=4 lport=1 rport=2 rto=250 errs=1 fam=2 v4=33554954 w=0,0,0,0');
  assert.deepEqual(r!.metrics, { rtoMs: 1000, errorCount: 1 });
  const [h] = ev('SCTPDIAG hb ts=1 asoc=4 lport=1 rport=2 kind=1 rtt=1234567 fam=2 v4=33554954 w=0,0,0,0');
  assert.deepEqual(h!.metrics, { rttMs: 1.235 });
});

test('in-kernel metric maps → one path.metrics event per path at metrics_end', () => {
  const m = mapper();
  const k = '3,2,33554954,0,0,0,0';
  const lines = [
    `{"type": "map", "data": {"@sctpdiag_m_cwnd": {"${k}": 4380}}}`,
    `{"type": "map", "data": {"@sctpdiag_m_ssthresh": {"${k}": 106496}}}`,
    `{"type": "map", "data": {"@sctpdiag_m_flight": {"${k}": 0}}}`,
    `{"type": "map", "data": {"@sctpdiag_m_pmtu": {"${k}": 1500}}}`,
    `{"type": "map", "data": {"@sctpdiag_m_sacks": {"${k}": 17}}}`,
    '{"type": "map", "data": {"@sctpdiag_m_rwnd": {"3": 106000}}}',
  ];
  for (const l of lines) assert.deepEqual(m.map(parseBpftraceLine(l)!), []);
  const out = m.map(parseBpftraceLine(pf('SCTPDIAG metrics_end ts=1'))!);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.path, '10.2.0.2');
  assert.deepEqual(out[0]!.metrics, { cwndBytes: 4380, ssthreshBytes: 106496, flightBytes: 0, pmtuBytes: 1500, sacks: 17, peerRwndBytes: 106000 });
  assert.deepEqual(m.map(parseBpftraceLine(pf('SCTPDIAG metrics_end ts=1'))!), []);
});

test('bpf events carry the kernel stamp (kernelNs, exact digits); none without a valid ts', () => {
  const m = mapper();
  const big = '9007199254740993123'; // > 2^53: kept as text, not rounded
  const [e] = m.map(parseBpftraceLine(pf(`SCTPDIAG asconf ts=${big} asoc=4 lport=1 rport=2 kind=1`))!);
  assert.equal(e!.kernelNs, big);
  const [noTs] = m.map(parseBpftraceLine(pf('SCTPDIAG asconf asoc=4 lport=1 rport=2 kind=1'))!);
  assert.equal(noTs!.kernelNs, undefined);
  const [lost] = m.map(parseBpftraceLine('{"type": "lost_events", "data": {"events": 1}}')!);
  assert.equal(lost!.kernelNs, undefined);
});

test('a path-metrics map of 4096 keys (bpftrace’s default size; one ~170 KB line) → 4096 path.metrics events', () => {
  const m = mapper();
  const keys: string[] = [];
  for (let i = 1; keys.length < 4096; i++) keys.push(`${i},2,${(10 | (3 << 8) | (i << 24)) >>> 0},0,0,0,0`, `${i},2,${(10 | (4 << 8) | (i << 24)) >>> 0},0,0,0,0`);
  const map = (name: string, v: (n: number) => number) =>
    `{"type": "map", "data": {"@${name}": {${keys.map((k, n) => `"${k}": ${v(n)}`).join(', ')}}}}`;
  const cwnd = map('sctpdiag_m_cwnd', (n) => 4380 + n);
  assert.ok(cwnd.length > 64 * 1024, `${cwnd.length} bytes`);
  assert.deepEqual(m.map(parseBpftraceLine(cwnd)!), []);
  assert.deepEqual(m.map(parseBpftraceLine(map('sctpdiag_m_pmtu', () => 1500))!), []);
  // the same path under a second spelling of its key (IPv6 words of an IPv4 path): merged into one event
  assert.deepEqual(m.map(parseBpftraceLine(`{"type": "map", "data": {"@sctpdiag_m_sacks": {"1,2,${(10 | (3 << 8) | (1 << 24)) >>> 0},0,0,0,7": 9}}}`)!), []);
  const out = m.map(parseBpftraceLine(pf('SCTPDIAG metrics_end ts=999500000000'))!);
  assert.equal(out.length, 4096);
  assert.equal(m.stats.malformed, 0);
  assert.deepEqual(out[0], {
    schemaVersion: 1,
    time: '2025-12-31T23:59:59.500Z',
    kernelNs: '999500000000',
    type: 'path.metrics',
    source: 'bpf',
    severity: 'info',
    netns: 'a',
    assoc: { id: 1 },
    path: '10.3.0.1',
    metrics: { cwndBytes: 4380, pmtuBytes: 1500, sacks: 9 },
  });
  assert.equal(out[4095]!.metrics!.cwndBytes, 4380 + 4095);
  assert.equal(new Set(out.map((e) => `${e.assoc!.id}|${e.path}`)).size, 4096);
});
