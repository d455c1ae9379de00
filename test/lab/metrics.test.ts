// Lab: scrape /metrics while cutting a link; path counts and event counters change.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from './vm.js';
import { labOrSkip, diagnostics } from './guard.js';
import { parseExposition, sampleSum } from '../exposition.js';


test('lab: /metrics follows a link cut', { timeout: 300_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const scrape = (name: string) =>
    `ip netns exec a "$NODE" -e 'fetch(process.argv[1]).then(async (r) => { if (r.status !== 200) process.exit(1); process.stdout.write(await r.text()); })' http://127.0.0.1:9464/metrics >"$LAB_OUT/${name}.txt"`;
  const r = await runInGuest({
    timeoutMs: 240_000,
    script: [
      'set -e',
      'NODE="$(command -v node || echo "${LAB_NODE_DIR:-/usr/bin}/node")"',
      'lab_topology 2',
      'lab_fast a b',
      'lab_multihomed 6001 5001',
      'lab_wait_path a 10.1.0.2 2 15',
      'lab_wait_path a 10.2.0.2 2 15',
      'lab_bg exporter a "$NODE" "$LAB_REPO/dist/src/cli.js" metrics --listen 127.0.0.1:9464 --min-interval 200 --events procfs',
      'for i in $(seq 50); do ip netns exec a "$NODE" -e "fetch(\'http://127.0.0.1:9464/healthz\').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break; sleep 0.2; done',
      scrape('before'),
      'lab_cut a va1',
      'lab_wait_path a 10.1.0.2 0 20',
      // data is served for --min-interval, or 10× the last read if longer
      // (sctpdiag_snapshot_interval_seconds; reads are slow under TCG): scrape
      // until the cut shows, as Prometheus would see it on its next scrapes
      `for i in $(seq 40); do ${scrape('after')}; grep -q '^sctp_paths{state="INACTIVE"} 1$' "$LAB_OUT/after.txt" && break; sleep 0.5; done`,
      'lab_stop exporter',
      'cat "$LAB_LOG/exporter.log"',
    ].join('\n'),
  });
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  const before = parseExposition(readFileSync(join(r.outDir, 'before.txt'), 'utf8'));
  const after = parseExposition(readFileSync(join(r.outDir, 'after.txt'), 'utf8'));
  assert.equal(sampleSum(before, 'sctp_paths', { state: 'ACTIVE' }), 2, diag);
  assert.equal(sampleSum(before, 'sctp_paths', { state: 'INACTIVE' }), 0, diag);
  assert.equal(sampleSum(after, 'sctp_paths', { state: 'INACTIVE' }), 1, diag);
  assert.equal(sampleSum(after, 'sctp_paths', { state: 'ACTIVE' }), 1, diag);
  assert.equal(sampleSum(after, 'sctp_association_active_paths'), 1, diag);
  t.diagnostic(`a read took ${sampleSum(after, 'sctpdiag_snapshot_duration_seconds')} s and is served for ${sampleSum(after, 'sctpdiag_snapshot_interval_seconds')} s`);
  const ev = (f: typeof before) => sampleSum(f, 'sctp_events_total', { type: 'path.state' });
  assert.ok(ev(after) > ev(before), `path.state events grew: ${ev(before)} → ${ev(after)}\n${diag}`);
  assert.ok(sampleSum(after, 'sctp_snmp_t3_rtx_expireds_total') >= sampleSum(before, 'sctp_snmp_t3_rtx_expireds_total'));
  t.diagnostic(`lab run took ${r.durationMs} ms`);
});
