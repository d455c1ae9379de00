// Per-path transport figures from bpf (probes/path-rtt.bt): real bpftrace 0.17
// output recorded on the lab kernel 6.1 → path.metrics events stamped at each
// path's last RTT sample → the figure store → `status --live` and `top`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBpftraceLine } from '../../src/trace/bpfjson.js';
import { BpfEventMapper, type Clock } from '../../src/trace/bpfmap.js';
import { kprobeVariant, layoutProgram, loadProbeFiles, assessProbes, kallsymsProbes } from '../../src/trace/probes.js';
import { FigureStore, MAX_FIGURE_PATHS, formatAge, staleAfterMs, withFigures } from '../../src/model/figures.js';
import type { SctpEvent } from '../../src/events/types.js';
import { collectStatus, printStatus, type StatusReport } from '../../src/commands/status.js';
import { parseLiveSeconds } from '../../src/commands/options.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { plain } from '../../src/render/style.js';
import { TopState } from '../../src/top/state.js';
import { SctpdiagError } from '../../src/errors.js';
import { capture, REAL, ROOT } from '../helpers.js';

const raw = readFileSync(join(REAL, 'path-rtt', 'bpftrace.ndjson'), 'utf8').split('\n').filter(Boolean);
// the kernel's clock at the recording's last print, and a wall clock for it
const lastEnd = [...raw.join('\n').matchAll(/figures_end ts=(\d+)/g)].map((m) => BigInt(m[1]!)).pop()!;
const WALL = Date.UTC(2026, 11, 5, 0, 37);
const clock: Clock = { wallMs: () => WALL, monoNs: () => lastEnd };

function replay(): SctpEvent[] {
  const m = new BpfEventMapper({ netns: 'a', hz: 250, clock });
  const out = raw.flatMap((l) => m.map(parseBpftraceLine(l)!));
  assert.equal(m.stats.malformed + m.stats.foreignPrintf + m.stats.unknownTypes, 0);
  return out;
}

test('recorded path-rtt output (6.1, HZ 250): per print one path.metrics event per path, srtt/rttvar/rto in ms, stamped at the sample', () => {
  const ev = replay();
  const prints = raw.filter((l) => l.includes('figures_end')).length;
  assert.ok(prints >= 10, `${prints} prints`);
  // the primary (DATA every 0.2 s) has a sample in every 1 s print; the idle backup only when a
  // heartbeat (hb_interval 1 s + up to an RTO of jitter) was acknowledged within it
  assert.equal(ev.filter((e) => e.path === '10.1.0.2').length, prints);
  const backup = ev.filter((e) => e.path === '10.2.0.2').length;
  assert.ok(backup >= prints / 2 && backup <= prints, `${backup} of ${prints}`);
  for (const e of ev) {
    assert.equal(e.type, 'path.metrics');
    assert.equal(e.source, 'bpf');
    assert.equal(e.assoc?.id, 3);
    assert.ok(e.path === '10.1.0.2' || e.path === '10.2.0.2', e.path);
    assert.match(e.kernelNs ?? '', /^\d+$/);
    assert.equal(e.time, new Date(WALL - Number(lastEnd - BigInt(e.kernelNs!)) / 1e6).toISOString());
    const m = e.metrics!;
    assert.equal(m.pmtuBytes, 1500);
    assert.equal(m.maxPathRetrans, 2);
    assert.equal(m.errorCount, 0);
    // RTO = SRTT + 4 RTTVAR, at least rto_min (200 ms): as the kernel computed it, converted at 4 ms per jiffy
    assert.equal(m.rtoMs, Math.max(200, m.srttMs! + 4 * m.rttvarMs!));
    assert.ok(m.rttSamples! >= 1);
    assert.equal(m.at, undefined, 'the stamp is the event time, not a metric');
  }
  // the first print of the recording, by hand: 10.1.0.2 srtt 52 jiffies, 10.2.0.2 srtt 1
  const first = ev.slice(0, 2).sort((a, b) => a.path!.localeCompare(b.path!));
  assert.deepEqual(first.map((e) => [e.path, e.metrics!.srttMs, e.metrics!.rttvarMs, e.metrics!.rtoMs, e.metrics!.cwndBytes]), [
    ['10.1.0.2', 208, 12, 256, 1500],
    ['10.2.0.2', 4, 4, 200, 6000],
  ]);
  // a sample taken after the interval's printf (bpftrace reads the map later) keeps its own stamp
  assert.equal(first[0]!.kernelNs, '64653364539');
  assert.equal(first[1]!.kernelNs, '63813658659');
});

test('a sample stamp past 2^53 ns (104 days of uptime) still gets an exact-to-the-µs stamp from the print', () => {
  const big = 10n ** 17n; // 3.2 years
  const m = new BpfEventMapper({ netns: null, hz: 1000, clock: { wallMs: () => WALL, monoNs: () => big } });
  const k = '9,2,33554954,0,0,0,0';
  for (const l of [
    `{"type": "map", "data": {"@sctpdiag_f_srtt": {"${k}": 12}}}`,
    `{"type": "map", "data": {"@sctpdiag_f_at": {"${k}": ${big - 1_500_000_000n}}}}`,
  ])
    assert.deepEqual(m.map(parseBpftraceLine(l)!), []);
  const [e] = m.map(parseBpftraceLine(`{"type": "printf", "data": "SCTPDIAG figures_end ts=${big}\\n"}`)!);
  assert.equal(BigInt(e!.kernelNs!) / 1000n, (big - 1_500_000_000n) / 1000n);
  assert.equal(e!.time, new Date(WALL - 1500).toISOString());
  assert.deepEqual(e!.metrics, { srttMs: 12 });
  // the figures' accumulator is separate from path-metrics.bt's: its metrics_end does not flush them
  assert.deepEqual(m.map(parseBpftraceLine('{"type": "printf", "data": "SCTPDIAG metrics_end ts=5\\n"}')!), []);
});

test('the probe: a kfunc pair on sctp_transport_update_rto, a kprobe variant for 5.10 (no module BTF), bounded maps cleared per print', () => {
  const f = loadProbeFiles().find((x) => x.name === 'path-rtt')!;
  assert.deepEqual(f.events, ['path.metrics']);
  assert.deepEqual(f.requires, ['kfunc:sctp:sctp_transport_update_rto', 'kretfunc:sctp:sctp_transport_update_rto']);
  // the argument the recorded BTF names (bpftrace -lv on 6.1)
  assert.match(readFileSync(join(REAL, 'path-rtt', 'kfunc_fields.txt'), 'utf8'), /struct sctp_transport \* tp\b/);
  const v = kprobeVariant(f.text)!;
  assert.match(v, /^kprobe:sctp_transport_update_rto$/m);
  assert.match(v, /^kretprobe:sctp_transport_update_rto$/m);
  assert.match(v, /@sctpdiag_kp_tp\[tid\] = arg0;/);
  assert.match(v, /\$t = \(\(struct sctp_transport \*\)@sctpdiag_kp_tp\[tid\]\);/);
  assert.doesNotMatch(v, /args->/);
  // every map it fills is printed and cleared each interval (bounded by the map-keys setting)
  const maps = new Set([...f.text.matchAll(/(@sctpdiag_f_\w+)\[\$id/g)].map((m) => m[1]!));
  assert.equal(maps.size, 11);
  for (const m of maps) {
    assert.match(f.text, new RegExp(`print\\(${m}\\)`));
    assert.match(f.text, new RegExp(`clear\\(${m}\\)`));
  }
  // 0.23 (fentry, args.) and 5.10 with headers
  const t = layoutProgram([f], [0, 23, 2]).text;
  assert.match(t, /^fentry:sctp:sctp_transport_update_rto$/m);
  assert.match(t, /args\.tp->asoc/);
  assert.match(layoutProgram([f], [0, 11, 3], true).text, /^#include <net\/sctp\/structs.h>/);
  // offered wherever the kernel has the function (kallsyms), missing where it has not
  const ks = 'ffffffffc0a01000 t sctp_transport_update_rto\t[sctp]\nffffffffc0a02000 t sctp_probe_x\t[sctp]';
  assert.equal(assessProbes([f], kallsymsProbes(ks, true))[0]!.ok, true);
  assert.deepEqual(assessProbes([f], kallsymsProbes(ks.split('\n')[1]!, true))[0]!.missing, ['kfunc:sctp:sctp_transport_update_rto']);
});

test('FigureStore: latest figure per path with its age; a later print of an older sample does not win; bounded', () => {
  const s = new FigureStore(3);
  const ev = (id: number, path: string, t: number, m: Record<string, number>): SctpEvent => ({
    schemaVersion: 1,
    time: new Date(t).toISOString(),
    type: 'path.metrics',
    source: 'bpf',
    severity: 'info',
    netns: null,
    assoc: { id },
    path,
    metrics: m,
  });
  s.add(ev(1, '10.0.0.1', 1000, { srttMs: 20, cwndBytes: 4380 }));
  s.add(ev(1, '10.0.0.1', 3000, { cwndBytes: 8760, sacks: 4 }));
  s.add(ev(1, '10.0.0.1', 2000, { srttMs: 25, cwndBytes: 1 }));
  assert.deepEqual(s.figures(1, '10.0.0.1', 5000), { srttMs: { value: 25, ageMs: 3000 }, cwndBytes: { value: 8760, ageMs: 2000 } });
  assert.equal(s.figures(1, '10.0.0.2', 5000), null);
  // procfs events and other types are not figures
  s.add({ ...ev(2, '10.0.0.2', 1000, { srttMs: 1 }), source: 'procfs' });
  s.add({ ...ev(2, '10.0.0.2', 1000, { rtoMs: 1 }), type: 'path.rtx_timeout' });
  assert.equal(s.size, 1);
  for (let i = 2; i <= 5; i++) s.add(ev(i, '10.0.0.9', 1000, { srttMs: i }));
  assert.equal(s.size, 3);
  assert.equal(s.figures(1, '10.0.0.1', 5000), null, 'the least recently updated path went first');
  s.retain((id) => id !== 5);
  assert.equal(s.size, 2);
  assert.equal(MAX_FIGURE_PATHS, 100_000);
  // stale: no RTT sample for a heartbeat interval, an RTO and three prints
  assert.equal(staleAfterMs(30_000, 1000, 5000), 46_000);
  assert.equal(formatAge(340), '340 ms');
  assert.equal(formatAge(12_340), '12.3 s');
});

async function liveReport(): Promise<StatusReport> {
  const snap = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  const store = new FigureStore();
  for (const e of replay()) store.add(e);
  const report = collectStatus(snap, {}, 'h');
  return {
    ...report,
    associations: withFigures(report.associations, store, WALL),
    live: { source: 'bpf', reason: null, seconds: 10, attachMs: 31_200, probes: ['path-metrics', 'path-rtt'], events: 24 },
  };
}

test('status --live: the figures and their age in the path rows, JSON by the schema', async () => {
  const r = await liveReport();
  const a3 = r.associations.find((a) => a.id === 3)!;
  assert.ok(a3.paths.length === 2);
  const text = printStatus(r, plain);
  assert.match(text, /PATH\s+STATE\s+ROLE\s+RTO\s+HB\s+MAXRTX\s+SRTT\s+RTTVAR\s+CWND\s+SSTHRESH\s+FLIGHT\s+PMTU\s+ERR\s+AGE/);
  const block = text.split('\n\n').find((b) => b.startsWith('assoc 3 '))!;
  const row = (addr: string) => block.split('\n').find((l) => l.trim().startsWith(addr))!;
  assert.match(row('10.1.0.2'), /\s\d+ ms\s+\d+ ms\s+\d+\s+\d+\s+\d+\s+1500\s+0\/2\s+(\d+ ms|[\d.]+ s)$/);
  assert.match(row('10.2.0.2'), /\s4 ms\s+4 ms\s+6000\s+6000\s+0\s+1500\s+0\/2\s+(\d+ ms|[\d.]+ s)$/);
  assert.match(text, /^live: bpf \(path-metrics, path-rtt; attached in 31\.2 s\), 10 s listened, 24 path report\(s\)/m);
  // associations bpf said nothing about keep procfs's row with dashes
  const other = r.associations.find((a) => a.id !== 3);
  if (other) assert.equal((other.paths[0] as { live?: unknown }).live, undefined);
  const { checkSchema } = await import('../schema-check.js');
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'status.schema.json'), 'utf8'));
  const json = JSON.parse(JSON.stringify(r));
  assert.deepEqual(checkSchema(schema, json), []);
  const p = json.associations.find((a: { id: number }) => a.id === 3).paths.find((x: { address: string }) => x.address === '10.2.0.2');
  assert.deepEqual(Object.keys(p.live).sort(), ['cwndBytes', 'errorCount', 'flightBytes', 'maxPathRetrans', 'pmtuBytes', 'rtoMs', 'rttvarMs', 'srttMs', 'ssthreshBytes']);
  assert.ok(p.live.srttMs.ageMs >= 0 && p.live.srttMs.ageMs < 2000, String(p.live.srttMs.ageMs));
  json.associations[0].paths[0].live = { srttMs: { value: 1 } };
  assert.equal(checkSchema(schema, json).length, 1);
  // no bpf: says why, procfs's columns only
  const off: StatusReport = { ...collectStatus(await readSnapshot({ procRoot: capture('two-path-a'), netns: null }), {}, 'h') };
  off.live = { source: 'procfs', reason: 'bpf unavailable: bpftrace is not installed (apt-get install bpftrace)', seconds: 10, attachMs: null, probes: [], events: 0 };
  const t2 = printStatus(off, plain);
  assert.match(t2, /^live: no bpf figures \(bpf unavailable: bpftrace is not installed \(apt-get install bpftrace\)\); procfs's figures only$/m);
  assert.deepEqual(checkSchema(schema, JSON.parse(JSON.stringify(off))), []);
});

test('--live [SECONDS]: default 10, 1..3600, anything else a usage error naming the option', () => {
  assert.equal(parseLiveSeconds(true), 10);
  assert.equal(parseLiveSeconds('30'), 30);
  for (const bad of ['0', '3601', '1.5', '-1', 'x', ''])
    assert.throws(() => parseLiveSeconds(bad), (e: unknown) => e instanceof SctpdiagError && e.exitCode === 2 && /--live/.test(e.message), bad);
});

test('top: the path detail shows bpf figures with their age, STALE once the RTT sample is older than a heartbeat interval + RTO + 3 prints', async () => {
  const snap = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null, metricsPrintMs: 5000 });
  state.resize(120, 40);
  state.applySnapshot(snap, { atMs: WALL - 60_000, readMs: 10 });
  const detail = () => state.frame().detail!.lines.map((l) => l.text);
  while (state.sel.key !== '3') assert.notEqual(state.key('down'), 'quit');
  const before = detail().join('\n');
  assert.doesNotMatch(before, /srtt/);
  for (const e of replay()) state.applyEvent(e);
  state.tick(WALL + 500);
  // the table's half-width pane cuts the line's end; the detail view (Enter) has the full width
  assert.match(detail().join('\n'), /^\s+[\d.]+ m?s ago srtt 4±4 ms/m);
  assert.equal(state.key('enter'), 'render');
  const lines = detail();
  const i = lines.findIndex((l) => /10\.2\.0\.2/.test(l));
  assert.match(lines[i + 1]!, /^\s+[\d.]+ m?s ago srtt 4±4 ms cwnd 6000 ssth 6000 flight 0 pmtu 1500 err 0\/2\s*$/);
  const j = lines.findIndex((l) => /10\.1\.0\.2/.test(l));
  assert.match(lines[j + 1]!, /^\s+[\d.]+ m?s ago srtt \d+±\d+ ms cwnd \d+ ssth \d+ flight \d+ pmtu 1500 err 0\/2\s*$/);
  const hb = snap.associations.find((a) => a.id === 3)!.heartbeatIntervalMs;
  state.tick(WALL + hb + 1000 + 15_000 + 1000);
  const later = state.frame().detail!.lines;
  const k = later.findIndex((l) => /10\.2\.0\.2/.test(l.text));
  assert.match(later[k + 1]!.text, /^\s+[\d.]+ s ago STALE srtt 4±4 ms/);
  assert.equal(later[k + 1]!.tone, 'warn');
});

test('metrics --path-rto: the figures as per-path gauges under the RTO series\' labels and cap; none without --path-rto or across namespaces', async () => {
  const { buildMetrics } = await import('../../src/metrics/registry.js');
  const { EventCounts } = await import('../../src/metrics/events.js');
  const { parseExposition } = await import('../exposition.js');
  const s = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  const counts = new EventCounts();
  const ev = replay();
  for (const e of ev) counts.count(e);
  const reading = { snapshots: [s], at: Date.now(), durationMs: 1, servedForMs: 1000, error: null };
  const expo = async (o: Parameters<typeof buildMetrics>[0]) => {
    const m = buildMetrics(o);
    m.update(reading, counts);
    return parseExposition(await m.registry.metrics());
  };
  const f = await expo({ pathRto: true, maxPaths: 200 });
  const sample = (name: string, path: string) => f.get(name)?.samples.find((x) => x.labels['assoc_id'] === '3' && x.labels['path'] === path)?.value;
  // the capture's assoc 3 has the recording's paths: 10.1.0.2 primary, 10.2.0.2 alt1
  const last = (addr: string) => ev.filter((e) => e.path === addr).pop()!.metrics!;
  assert.equal(sample('sctp_path_srtt_seconds', 'primary'), last('10.1.0.2').srttMs! / 1000);
  assert.equal(sample('sctp_path_srtt_seconds', 'alt1'), last('10.2.0.2').srttMs! / 1000);
  assert.equal(sample('sctp_path_cwnd_bytes', 'alt1'), 6000);
  assert.equal(sample('sctp_path_mtu_bytes', 'primary'), 1500);
  assert.equal(sample('sctp_path_errors', 'primary'), 0);
  assert.ok(sample('sctp_path_rtt_sample_age_seconds', 'alt1')! >= 0);
  // other associations had no bpf figures: no series, not zeros
  assert.equal(f.get('sctp_path_srtt_seconds')!.samples.length, 2);
  // the cap of --max-paths holds for the figures too
  const capped = await expo({ pathRto: true, maxPaths: 1 });
  assert.ok((capped.get('sctp_path_srtt_seconds')?.samples.length ?? 0) <= 1);
  assert.equal((await expo({ pathRto: false })).has('sctp_path_srtt_seconds'), false);
  assert.equal((await expo({ pathRto: true, netnsLabel: true })).get('sctp_path_srtt_seconds')?.samples.length ?? 0, 0);
});
