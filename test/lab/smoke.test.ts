// Proves the QEMU lab: a real multi-homed SCTP association between netns a and b.
// Skips (or fails, when the lab is required) if QEMU/kernel/busybox are missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from './vm.js';
import { labOrSkip, diagnostics } from './guard.js';


test('lab: multi-homed sctp_darn association over two veth links', { timeout: 240_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await runInGuest({
    timeoutMs: 180_000,
    script: [
      'set -e',
      'lab_topology 2',
      'lab_fast a b',
      'lab_multihomed 6001 5001',
      'lab_wait_path a 10.1.0.2 2 15',
      'lab_wait_path a 10.2.0.2 2 15',
      'echo "=== assocs"; lab_assocs a',
      'echo "=== remaddr"; lab_remaddr a',
    ].join('\n'),
  });
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);

  const [, assocs = '', remaddr = ''] = r.stdout.split(/^=== (?:assocs|remaddr)\n/m);
  const rows = assocs.trim().split('\n');
  const header = (rows[0] ?? '').trim().split(/\s+/);
  const st = header.indexOf('ST');
  assert.ok(st >= 0, diag);
  const est = rows.slice(1).filter((l) => l.trim().split(/\s+/)[st] === '3');
  assert.equal(est.length, 1, `one ESTABLISHED association expected\n${diag}`);
  const [left = '', right = ''] = (est[0] ?? '').split('<->');
  const laddrs = left.trim().split(/\s+/).slice(header.indexOf('LADDRS'));
  assert.deepEqual([...laddrs].sort(), ['10.1.0.1', '10.2.0.1'], diag);
  const raddrs = (right.split('\t')[0] ?? '').trim().split(/\s+/).map((a) => a.replace(/^\*/, ''));
  assert.deepEqual([...raddrs].sort(), ['10.1.0.2', '10.2.0.2'], diag);

  const paths = remaddr.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  assert.equal(paths.length, 2, diag);
  for (const p of paths) assert.equal(p[p.length - 1], '2', `path ${p[0]} not ACTIVE\n${diag}`);
  t.diagnostic(`lab run took ${r.durationMs} ms`);
});

// The boot watchdog (vm.ts): a boot that does not reach the guest's init in time is
// killed and booted again, each attempt's console kept; the job itself never ran.
test('lab: a boot that never reaches init is killed and retried, at most 3 times', { timeout: 120_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await runInGuest({ timeoutMs: 60_000, bootTimeoutMs: 300, script: 'echo ran >"$LAB_OUT/ran"' });
  const diag = diagnostics(r);
  assert.equal(r.boots, 3, diag);
  assert.equal(r.exitCode, null, diag);
  assert.equal(r.timedOut, true, diag);
  assert.ok(r.durationMs < 30_000, `three short boots, not the job's whole timeout\n${diag}`);
  assert.equal(existsSync(join(r.outDir, 'ran')), false, diag);
  for (const f of ['console.log', 'console.2.log', 'console.3.log']) assert.ok(existsSync(join(r.outDir, f)), `${f}\n${diag}`);
  assert.match(r.console, /no "lab-init: ready" within 0.3 s: QEMU killed/, diag);
});
