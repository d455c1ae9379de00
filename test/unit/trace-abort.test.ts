// ABORT / ERROR chunks and out-of-the-blue packets (issue 17): the cause table,
// the probe records → events, the procfs fallback (SNMP deltas), the exporter's
// counters by cause and the text line.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CAUSE_LABELS, causeOf, chunkTypeName } from '../../src/kernel/causes.js';
import { BpfEventMapper, type Clock } from '../../src/trace/bpfmap.js';
import { parseBpftraceLine } from '../../src/trace/bpfjson.js';
import { loadProbeFiles } from '../../src/trace/probes.js';
import { ootbHint } from '../../src/trace/pipeline.js';
import { formatEventLine } from '../../src/trace/sinks.js';
import { diffSnapshots, PROCFS_EVENT_TYPES } from '../../src/model/diff.js';
import { EventCounts } from '../../src/metrics/events.js';
import { buildMetrics, eventLinkResolver } from '../../src/metrics/registry.js';
import { parseLinks } from '../../src/links/links.js';
import { makeStyle } from '../../src/render/style.js';
import { parseExposition, sampleSum } from '../exposition.js';
import { failoverSnapshot } from '../helpers.js';
import type { SctpEvent } from '../../src/events/types.js';
import { readFileSync } from 'node:fs';
import { checkSchema } from '../schema-check.js';
import { real, ROOT } from '../helpers.js';

const clock: Clock = { wallMs: () => Date.UTC(2026, 0, 1), monoNs: () => 1_000_000_000_000n };
const printf = (text: string) => JSON.stringify({ type: 'printf', data: `${text}\n` });
function events(...lines: string[]): SctpEvent[] {
  const m = new BpfEventMapper({ netns: 'b', hz: 250, clock });
  return lines.flatMap((l) => m.map(parseBpftraceLine(printf(l))!));
}
// 10.1.0.1 as the probes print s_addr on a little-endian host
const V4_10_1_0_1 = 0x0100010a;
const V4_10_2_0_9 = 0x0900020a;

test('cause table: RFC 9260 codes, ASCONF and HMAC codes, none and other; labels unique', () => {
  assert.deepEqual(causeOf(12), { code: 12, name: 'User-Initiated Abort', label: 'user_abort' });
  assert.equal(causeOf(13).label, 'protocol_violation');
  assert.equal(causeOf(0xa0).label, 'delete_last_address');
  assert.equal(causeOf(0x105).label, 'unsupported_hmac');
  assert.equal(causeOf(null).label, 'none');
  assert.deepEqual(causeOf(4711), { code: 4711, name: 'unknown cause 4711', label: 'other' });
  assert.equal(new Set(CAUSE_LABELS).size, CAUSE_LABELS.length);
  assert.ok(CAUSE_LABELS.every((l) => /^[a-z_]+$/.test(l)));
  assert.equal(chunkTypeName(4), 'HEARTBEAT');
  assert.equal(chunkTypeName(99), 'chunk type 99');
});

test('the probe files declare the new event types', () => {
  const files = loadProbeFiles();
  assert.deepEqual(files.find((f) => f.name === 'abort-error')?.events, ['chunk.abort', 'chunk.error']);
  assert.deepEqual(files.find((f) => f.name === 'ootb')?.events, ['packet.ootb']);
  assert.ok(files.find((f) => f.name === 'abort-error')?.requires.includes('kprobe:sctp_packet_append_chunk'));
});

test('a received ABORT with a cause: direction in, cause decoded, association and path', () => {
  const [e] = events(`SCTPDIAG chunk ts=999000000000 out=0 type=6 asoc=4 lport=8200 rport=40000 len=8 cause=12 flags=0 ck=18446 fam=2 v4=${V4_10_1_0_1} w=0,0,0,0`);
  assert.equal(e?.type, 'chunk.abort');
  assert.equal(e?.severity, 'fail');
  assert.equal(e?.direction, 'in');
  assert.equal(e?.cause, 'user_abort');
  assert.equal(e?.path, '10.1.0.1');
  assert.deepEqual(e?.assoc, { id: 4, localPort: 8200, peerPort: 40000 });
  assert.deepEqual(e?.metrics, { chunkType: 6, causeCode: 12 });
  assert.equal(e?.reason, 'ABORT received from 10.1.0.1: User-Initiated Abort (cause 12)');
  assert.equal(e?.time, '2025-12-31T23:59:59.000Z');
});

test('a sent ABORT without a cause and with the T bit (an answer to an OOTB packet)', () => {
  const [e] = events(`SCTPDIAG chunk ts=1 out=1 type=6 asoc=0 lport=5001 rport=6001 len=4 cause=0 flags=1 ck=77 fam=2 v4=${V4_10_2_0_9} w=0,0,0,0`);
  assert.equal(e?.direction, 'out');
  assert.equal(e?.cause, 'none');
  assert.deepEqual(e?.metrics, { chunkType: 6 });
  assert.match(e?.reason ?? '', /^ABORT sent to 10\.2\.0\.9: no cause given, T bit: answer to a packet with no association$/);
});

test('a sent chunk appended again after a full packet was flushed is one event; another chunk is another', () => {
  const l = (ck: number, ts: number) => `SCTPDIAG chunk ts=${ts} out=1 type=6 asoc=3 lport=1 rport=2 len=8 cause=13 flags=0 ck=${ck} fam=2 v4=1 w=0,0,0,0`;
  assert.equal(events(l(5, 1_000), l(5, 2_000)).length, 1);
  assert.equal(events(l(5, 1_000), l(6, 2_000)).length, 2);
  // the same address much later is a new chunk (freed and reused)
  assert.equal(events(l(5, 1_000), l(5, 1_000_000_000)).length, 2);
});

test('an ERROR chunk: chunk.error, warn; an unknown cause is other with its code', () => {
  const [e] = events('SCTPDIAG chunk ts=1 out=0 type=9 asoc=3 lport=1 rport=2 len=8 cause=4711 flags=0 ck=1 fam=2 v4=1 w=0,0,0,0');
  assert.equal(e?.type, 'chunk.error');
  assert.equal(e?.severity, 'warn');
  assert.equal(e?.cause, 'other');
  assert.equal(e?.metrics?.causeCode, 4711);
});

test('an out-of-the-blue HEARTBEAT: its source address, our port from its destination (network order)', () => {
  // ports 5001 → 6001 printed from network order on a little-endian host
  const [e] = events(`SCTPDIAG ootb ts=1 type=4 sport=35091 dport=28951 fam=2 v4=${V4_10_2_0_9} w=0,0,0,0 dfam=2 dv4=33554954 dw=0,0,0,0`);
  assert.equal(e?.type, 'packet.ootb');
  assert.equal(e?.path, '10.2.0.9');
  assert.deepEqual(e?.assoc, { id: 0, localPort: 6001, peerPort: 5001 });
  assert.equal(e?.reason, 'HEARTBEAT from 10.2.0.9 to 10.2.0.2 matches no association');
  // an association with these ports: the hint names it and its peers
  ootbHint(e!, failoverSnapshot(0));
  assert.match(e!.reason!, /association 3 has these ports with peer address\(es\) 10\.1\.0\.2, 10\.2\.0\.2: a NAT/);
});

test('procfs: SctpAborteds and SctpOutOfBlues deltas become chunk.abort and packet.ootb with a count, no cause', () => {
  const a = failoverSnapshot(0);
  const b = { ...a, snmp: { ...a.snmp, SctpAborteds: a.snmp.SctpAborteds! + 2, SctpOutOfBlues: a.snmp.SctpOutOfBlues! + 5 } };
  assert.ok(PROCFS_EVENT_TYPES.includes('chunk.abort') && PROCFS_EVENT_TYPES.includes('packet.ootb'));
  const ev = diffSnapshots(a, b);
  const ab = ev.find((e) => e.type === 'chunk.abort');
  assert.equal(ab?.source, 'procfs');
  assert.deepEqual(ab?.metrics, { count: 2 });
  assert.equal(ab?.cause, undefined);
  assert.match(ab?.reason ?? '', /SctpAborteds \+2: .*the cause and the peer need bpf/);
  assert.deepEqual(ev.find((e) => e.type === 'packet.ootb')?.metrics, { count: 5 });
  // a counter going back (another netns, a reset) is no event; unwanted types are not derived
  assert.equal(diffSnapshots(b, a).filter((e) => e.type === 'chunk.abort' || e.type === 'packet.ootb').length, 0);
  assert.equal(diffSnapshots(a, b, { types: new Set(['path.state']) }).length, 0);
});

test('metrics: sctp_aborts_total by direction and cause, sctp_errors_total, sctp_ootb_packets_total (bpf events only)', async () => {
  const m = buildMetrics();
  const ev = new EventCounts();
  for (const e of events(
    'SCTPDIAG chunk ts=1 out=0 type=6 asoc=4 lport=1 rport=2 len=8 cause=12 flags=0 ck=1 fam=2 v4=1 w=0,0,0,0',
    'SCTPDIAG chunk ts=2 out=1 type=6 asoc=0 lport=1 rport=2 len=4 cause=0 flags=1 ck=2 fam=2 v4=1 w=0,0,0,0',
    'SCTPDIAG chunk ts=3 out=1 type=6 asoc=0 lport=1 rport=2 len=4 cause=0 flags=1 ck=3 fam=2 v4=1 w=0,0,0,0',
    'SCTPDIAG chunk ts=4 out=1 type=9 asoc=4 lport=1 rport=2 len=8 cause=6 flags=0 ck=4 fam=2 v4=1 w=0,0,0,0',
    'SCTPDIAG ootb ts=5 type=4 sport=1 dport=2 fam=2 v4=1 w=0,0,0,0 dfam=2 dv4=1 dw=0,0,0,0',
  ))
    ev.count(e);
  // a procfs delta is not counted by cause (sctp_snmp_aborteds_total has it)
  ev.count({ schemaVersion: 1, time: 't', type: 'chunk.abort', source: 'procfs', severity: 'fail', netns: null, metrics: { count: 3 } });
  m.update(null, ev);
  const f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_aborts_total', { direction: 'in', cause: 'user_abort' }), 1);
  assert.equal(sampleSum(f, 'sctp_aborts_total', { direction: 'out', cause: 'none' }), 2);
  assert.equal(sampleSum(f, 'sctp_aborts_total', { direction: 'out', cause: 'protocol_violation' }), 0);
  assert.equal(sampleSum(f, 'sctp_aborts_total'), 3);
  assert.equal(sampleSum(f, 'sctp_errors_total', { direction: 'out', cause: 'unrecognized_chunk' }), 1);
  assert.equal(sampleSum(f, 'sctp_ootb_packets_total'), 1);
  assert.equal(f.get('sctp_aborts_total')?.type, 'counter');
});

test('the text line says received/sent and the cause', () => {
  const [e] = events(`SCTPDIAG chunk ts=1 out=0 type=6 asoc=4 lport=8200 rport=40000 len=8 cause=12 flags=0 ck=1 fam=2 v4=${V4_10_1_0_1} w=0,0,0,0`);
  const line = formatEventLine(e!, makeStyle(false));
  assert.match(line, /chunk\.abort +assoc 4 8200->40000 +10\.1\.0\.1 +received cause=user_abort +chunkType=6 causeCode=12 +\(ABORT received from 10\.1\.0\.1: User-Initiated Abort \(cause 12\)\) +\[bpf\]$/);
});

test('metrics: an ABORT of a named link counts in sctp_link_events_total{type="chunk.abort"}', async () => {
  const links = parseLinks('srv8200 local-port=8200\nother local-port=9\n', 'links.conf');
  const m = buildMetrics({ links });
  const ev = new EventCounts();
  ev.linkOf = eventLinkResolver(m, links);
  for (const e of events(`SCTPDIAG chunk ts=1 out=0 type=6 asoc=4 lport=8200 rport=40000 len=8 cause=12 flags=0 ck=1 fam=2 v4=${V4_10_1_0_1} w=0,0,0,0`)) ev.count(e);
  m.update(null, ev);
  const f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_link_events_total', { link: 'srv8200', type: 'chunk.abort' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_events_total', { link: 'other', type: 'chunk.abort' }), 0);
});

test('real lab events (6.1, bpftrace 0.17 and --no-bpf) follow the event schema', () => {
  const schema = JSON.parse(readFileSync(`${ROOT}/schema/event.schema.json`, 'utf8')) as Record<string, unknown>;
  const ev = real('abort-ootb/events.ndjson').trim().split('\n').map((l) => JSON.parse(l) as SctpEvent);
  assert.deepEqual([...new Set(ev.map((e) => `${e.type}/${e.source}`))].sort(), ['chunk.abort/bpf', 'chunk.abort/procfs', 'packet.ootb/bpf', 'packet.ootb/procfs']);
  for (const e of ev) assert.deepEqual(checkSchema(schema, e), [], JSON.stringify(e));
});
