// Exporter output from captures, parsed as Prometheus text; naming, labels, caching.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSnapshot } from '../../src/procfs/read.js';
import { buildMetrics, snakeCounterName, snmpMetricName } from '../../src/metrics/registry.js';
import { parseExposition, sampleSum } from '../exposition.js';
import { SnapshotCache } from '../../src/metrics/source.js';
import { EventCounts } from '../../src/metrics/events.js';
import { parseListen } from '../../src/commands/options.js';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import type { Snapshot } from '../../src/model/snapshot.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');
const snap = (c: string) => readSnapshot({ procRoot: join(CAPS, c), netns: null, owners: false });
const reading = (snapshots: Snapshot[]) => ({ snapshots, at: Date.now(), durationMs: 2, servedForMs: 1000, error: null });

test('SNMP names follow the Prometheus guide', () => {
  assert.equal(snakeCounterName('SctpT3RtxExpireds'), 't3_rtx_expireds');
  assert.equal(snakeCounterName('SctpOutSCTPPacks'), 'out_sctp_packs');
  assert.equal(snakeCounterName('SctpInPktSoftirq'), 'in_pkt_softirq');
  assert.equal(snmpMetricName('SctpAborteds'), 'sctp_snmp_aborteds_total');
  assert.equal(snmpMetricName('SctpCurrEstab'), 'sctp_snmp_curr_estab');
});

test('metrics from the two-path-a-fail-t6 capture parse as Prometheus text', async () => {
  const m = buildMetrics();
  const ev = new EventCounts();
  ev.types = [
    { type: 'path.state', source: 'procfs', reason: 'no-btf', detail: 'no BTF for the sctp module' },
    { type: 'path.rtx_timeout', source: 'none', reason: 'no-btf', detail: 'no BTF for the sctp module' },
  ];
  ev.count({ schemaVersion: 1, time: 't', type: 'path.state', source: 'procfs', severity: 'warn', netns: null, from: 'ACTIVE', to: 'INACTIVE' });
  ev.count({ schemaVersion: 1, time: 't', type: 'probe.lost_events', source: 'bpf', severity: 'warn', netns: null, metrics: { count: 5 } });
  m.update(reading([await snap('two-path-a-fail-t6')]), ev);
  const text = await m.registry.metrics();
  const f = parseExposition(text);
  assert.equal(sampleSum(f, 'sctp_up'), 1);
  assert.equal(sampleSum(f, 'sctp_associations', { state: 'ESTABLISHED' }), 2);
  assert.equal(sampleSum(f, 'sctp_associations', { state: 'COOKIE_WAIT' }), 1);
  assert.equal(sampleSum(f, 'sctp_associations', { state: 'SHUTDOWN_SENT' }), 0);
  assert.equal(sampleSum(f, 'sctp_paths', { state: 'INACTIVE' }), 2);
  assert.equal(sampleSum(f, 'sctp_paths', { state: 'ACTIVE' }), 2);
  assert.equal(sampleSum(f, 'sctp_association_paths', { assoc_id: '3' }), 2);
  assert.equal(sampleSum(f, 'sctp_association_active_paths', { assoc_id: '3' }), 1);
  assert.equal(sampleSum(f, 'sctp_associations_by_active_paths', { active_paths: '1' }), 2);
  assert.equal(f.get('sctp_snmp_aborteds_total')?.type, 'counter');
  assert.equal(sampleSum(f, 'sctp_snmp_curr_estab'), 2);
  assert.equal(f.get('sctp_snmp_curr_estab')?.type, 'gauge');
  assert.equal(sampleSum(f, 'sctp_events_total', { type: 'path.state', source: 'procfs' }), 1);
  assert.equal(sampleSum(f, 'sctpdiag_probe_lost_events_total'), 5);
  assert.equal(sampleSum(f, 'sctpdiag_event_source_info', { type: 'path.state', source: 'procfs', reason: 'no-btf' }), 1);
  assert.equal(sampleSum(f, 'sctpdiag_event_source_info', { type: 'path.rtx_timeout', source: 'none', reason: 'no-btf' }), 1);
  assert.equal(f.get('sctpdiag_event_source_info')?.samples.length, 2);
  assert.equal(f.get('sctpdiag_build_info')?.samples[0]?.labels['version'], '0.1.0');
  for (const fam of f.values()) {
    assert.match(fam.name, /^(sctp|sctpdiag)_[a-z0-9_]+$/);
    if (fam.type === 'counter') assert.match(fam.name, /_total$/);
    assert.ok(fam.help.length > 0, `${fam.name} has HELP`);
    for (const s of fam.samples)
      for (const [k, v] of Object.entries(s.labels)) {
        assert.ok(!/\s/.test(v) || k === 'nodejs', `no address lists in labels: ${k}=${v}`);
        assert.doesNotMatch(v, /^[0-9a-f]{8,16}$/, `no kernel pointers in labels: ${k}=${v}`);
      }
  }
  assert.equal(f.has('sctp_path_rto_seconds'), false, 'per-path RTO is opt-in');
});

test('per-path RTO opt-in, cardinality limits, netns label', async () => {
  const many = await snap('many-a');
  const m = buildMetrics({ netnsLabel: true, maxAssociations: 10, pathRto: true, maxPaths: 5 });
  m.update(reading([{ ...many, netns: 'b' }]), null);
  const f = parseExposition(await m.registry.metrics());
  assert.equal(f.get('sctp_association_paths')?.samples.length, 10);
  assert.equal(sampleSum(f, 'sctpdiag_series_dropped', { kind: 'association' }), many.associations.length - 10);
  assert.equal(f.get('sctp_path_rto_seconds')?.samples.length, 5);
  assert.ok(sampleSum(f, 'sctpdiag_series_dropped', { kind: 'path' }) > 0);
  const rto = f.get('sctp_path_rto_seconds')!.samples[0]!;
  assert.ok(rto.value > 0 && rto.value < 60);
  assert.equal(rto.labels['peer'], undefined, 'no addresses as labels');
  assert.match(rto.labels['path']!, /^(primary|alt\d+)$/);
  assert.equal(sampleSum(f, 'sctp_associations', { netns: 'b', state: 'ESTABLISHED' }), many.associations.filter((a) => a.state === 'ESTABLISHED').length);
  for (const s of f.get('sctp_paths')!.samples) assert.equal(s.labels['netns'], 'b');
});

test('stale label sets disappear on the next update', async () => {
  const m = buildMetrics();
  m.update(reading([await snap('two-path-a')]), null);
  let f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_association_paths', { assoc_id: '7' }), 2);
  m.update(reading([await snap('two-path-a-fail-t6')]), null);
  f = parseExposition(await m.registry.metrics());
  assert.equal(f.get('sctp_association_paths')!.samples.some((s) => s.labels['assoc_id'] === '7'), false);
  m.update({ snapshots: [], at: Date.now(), durationMs: 1, servedForMs: 1000, error: 'boom' }, null);
  f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_up'), 0);
});

test('SnapshotCache reads at most once per min-interval and shares in-flight reads', async () => {
  let t = 0;
  let reads = 0;
  const s = await snap('two-path-a');
  const cache = new SnapshotCache(async () => {
    reads++;
    await new Promise((r) => setTimeout(r, 5));
    return [s];
  }, 1000, () => t);
  await Promise.all([cache.get(), cache.get(), cache.get()]);
  assert.equal(reads, 1);
  t = 999;
  await cache.get();
  assert.equal(reads, 1);
  t = 1000 + 5;
  await cache.get();
  assert.equal(reads, 2);
});

test('SnapshotCache after a costly read serves it for 10× the kernel’s printing (at most 60 s), then recovers', async () => {
  let t = 0;
  let reads = 0;
  let readCostMs = 5000; // 8k associations in the lab
  const s = await snap('two-path-a');
  const cache = new SnapshotCache(async (cost) => {
    reads++;
    t += readCostMs; // the clock moves while the kernel prints
    if (cost) Object.assign(cost, { kernelMs: readCostMs, associations: 8000 });
    return [s];
  }, 1000, () => t);
  const first = await cache.get();
  assert.equal(first.servedForMs, 50_000);
  const m = buildMetrics();
  m.update(first, null);
  assert.equal(sampleSum(parseExposition(await m.registry.metrics()), 'sctpdiag_snapshot_interval_seconds'), 50, 'exported');
  t += 49_000; // Prometheus scraping every few seconds meanwhile
  await cache.get();
  assert.equal(reads, 1, 'within 10× the read: the cached data');
  t += 1000;
  readCostMs = 10; // the associations went away
  assert.equal((await cache.get()).servedForMs, 25_500, 'halfway back');
  assert.equal(reads, 2);
  t += 25_500;
  assert.equal((await cache.get()).servedForMs, 13_300);
  assert.equal(reads, 3);
});

test('--listen is validated strictly', () => {
  assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['9464', ':9464', '127.0.0.1', '127.0.0.1:65536', '1.2.3:9', 'example.com:80', '::1:9464', '[zz]:1', '127.0.0.1:-1', '127.0.0.1:9464 ', '0.0.0.0:1e3']) {
    assert.throws(() => parseListen(bad), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE, bad);
  }
});

test('the exposition parser rejects malformed text', () => {
  assert.throws(() => parseExposition('foo{a="b} 1\n'));
  assert.throws(() => parseExposition('foo bar\n'));
  assert.throws(() => parseExposition('# TYPE foo nonsense\n'));
  const f = parseExposition('# HELP x a\n# TYPE x counter\nx_total{a="q\\"uote"} 3\n');
  assert.equal(sampleSum(f, 'x_total', { a: 'q"uote' }), 3);
});
