// The smoke bench (1 iteration, 100 associations, no lab) runs in-process so
// the bench code cannot rot. Only the shape of the table is asserted, never a
// timing. The lab half is checked on a recorded results.tsv (no guest boots).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, runBench } from '../../bench/run.js';
import { labMetrics, parseLabTsv } from '../../bench/snapshot.js';

test('bench --smoke: one table with the host snapshot rows; optional benches run or are reported missing', { timeout: 120_000 }, async () => {
  const r = await runBench({ ...parseArgs(['--smoke', '--no-write']) });
  assert.equal(r.file, null, '--no-write writes nothing');
  const host = r.rows.filter((x) => x.part === 'snapshot (host, --proc-root)');
  assert.deepEqual(
    [...new Set(host.map((x) => x.figure))],
    [
      'cat assocs remaddr (plain file)',
      'node -e 0',
      'sctpdiag status --json',
      'status peak RSS',
      'parse+join (in-process)',
      'collectStatus+JSON.stringify',
    ].filter((f) => f !== 'status peak RSS' || host.some((x) => x.figure === f)),
  );
  assert.ok(host.every((x) => x.size === 100), 'smoke = 100 associations');
  assert.ok(host.every((x) => Number.isFinite(x.value)), JSON.stringify(host));
  assert.ok(!r.rows.some((x) => x.part.includes('lab')), 'no lab part without --lab');
  const file: Record<string, string> = { 'trace-ingest': 'ingest.ts', top: 'top.ts', 'trace-load': 'trace-load.ts' };
  for (const name of ['trace-ingest', 'top', 'trace-load']) {
    const present = r.results.some((x) => x.name === name);
    const reported = r.missing.some((m) => m.includes(file[name]!));
    assert.ok(present !== reported, `${name}: either run or reported missing (missing=${JSON.stringify(r.missing)})`);
  }
  // trace under load (the real trace code, a fake bpftrace): every event sent came out, with a kernel stamp
  const load = r.results.find((x) => x.name === 'trace-load');
  if (load) {
    assert.equal(load.metrics.eventsSent, load.metrics.eventsOut, JSON.stringify(load.metrics));
    assert.equal(load.metrics.userspaceDrops, 0);
    assert.equal(load.metrics.kernelLostReported, load.metrics.kernelLost);
    assert.ok(load.metrics.metricsEventsOut! > 0, 'path.metrics from the map prints');
    for (const k of ['latencyP50Ms', 'latencyP99Ms', 'peakRssMb']) assert.ok(Number.isFinite(load.metrics[k]), k);
    const rows = r.rows.filter((x) => x.part === 'trace --json (load)');
    for (const f of ['userspace drops', 'latency kernel ts → stdout, median', 'latency kernel ts → stdout, p99', 'trace peak RSS'])
      assert.ok(rows.some((x) => x.figure === f && x.size === 100), `trace row ${f}`);
    assert.ok(rows.filter((x) => x.target).every((x) => x.verdict !== 'info'), 'trace rows with a target have a verdict');
  }
  const lines = r.table.split('\n');
  assert.match(lines[0]!, /^\| part +\| figure +\| assocs \| +value \| ratio +\| target +\| result \|$/);
  assert.equal(lines.length, r.rows.length + 2);
});

test('bench lab rows: results.tsv from the guest is reduced to medians, caps are noted, targets evaluated at ≥ 8k', async () => {
  const tsv = [
    ['8000', 'catAssocs', '1', '5000', '0', ''],
    ['8000', 'catAssocs', '2', '5200', '0', ''],
    ['8000', 'catRemaddr', '1', '1500', '0', ''],
    ['8000', 'floor', '1', '6500', '0', ''],
    ['8000', 'ss', '1', '240000', '124', ''],
    ['8000', 'nodeE0', '1', '450', '0', ''],
    ['8000', 'status', '1', '7000', '0', ''],
    ['8000', 'statusRss', '1', '102400', '0', ''],
    ['8000', 'ddAssocs4k', '1', '5100', '0', 'reads=400'],
    ['8000', 'probe_parseJoin', '1', '300', '0', ''],
  ]
    .map((r) => r.join('\t'))
    .join('\n');
  const { metrics, notes } = labMetrics(parseLabTsv(tsv));
  assert.equal(metrics['catAssocsMs@8000'], 5100);
  assert.equal(metrics['statusRssMb@8000'], 100);
  assert.equal(metrics['ddAssocs4kReads@8000'], 400);
  assert.equal(metrics['probe_parseJoin@8000'], 300);
  assert.ok(notes.some((n) => /ss capped/.test(n)), notes.join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  writeFileSync(join(dir, 'results.tsv'), tsv + '\n');
  const r = await runBench({ smoke: true, lab: false, write: false, only: ['snapshot'], labDir: dir });
  const lab = r.rows.filter((x) => x.part === 'snapshot (lab, real kernel)');
  const status = lab.find((x) => x.figure === 'sctpdiag status --json');
  assert.equal(status?.target, '≤ 1.35× floor');
  assert.equal(status?.verdict, 'PASS', '7000 ms ≤ 1.35 × 6500 ms');
  assert.equal(lab.find((x) => x.figure === 'status peak RSS')?.verdict, 'PASS', '100 MB ≤ 120 MB at 8k');
  // only status's wall time and RSS are targets; parse+join (emulated JS vs native kernel code) and ss are figures
  assert.deepEqual(lab.filter((x) => x.verdict !== 'info').map((x) => x.figure).filter((f) => !f.startsWith('V8 flags')), ['sctpdiag status --json', 'status peak RSS']);
  assert.equal(lab.find((x) => x.figure.startsWith('V8 flags in the shebang'))?.verdict, 'PASS', 'the built executable has no V8 flags');
  for (const f of ['floor: cat assocs remaddr', 'ss -S -a -n -i', 'status / ss', 'parse+join (in guest)', 'read(2) size 4k: assocs'])
    assert.ok(lab.some((x) => x.figure === f), `lab row ${f}`);
});
