// Lab: doctor on a real kernel flags the insecure addip_noauth setting, a
// locally single-homed association and two paths routed through one interface,
// and exits non-zero (9: a failure). Skips (or fails when the lab is required) without the lab.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from './vm.js';
import { labOrSkip, diagnostics } from './guard.js';


test('lab: doctor flags addip_noauth, the bind() pitfall and shared routes', { timeout: 300_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await runInGuest({
    timeoutMs: 240_000,
    script: [
      'set -e',
      'NODE="$(command -v node || echo "${LAB_NODE_DIR:-/usr/bin}/node")"',
      'lab_topology 2',
      'lab_fast a b',
      'lab_sysctl a addip_noauth_enable=1',
      // multi-homed server; one client bound to a single local address (the bind() pitfall)
      'lab_darn_server srv5001 b 5001 10.1.0.2 10.2.0.2',
      'lab_wait_listen b 5001',
      'lab_darn_client cli6001 a 6001 10.1.0.2 5001 10.1.0.1',
      'lab_wait_assoc a 1 15',
      // a second, properly multi-homed association ...
      'lab_darn_server srv5002 b 5002 10.1.0.2 10.2.0.2',
      'lab_wait_listen b 5002',
      'lab_darn_client cli6002 a 6002 10.1.0.2 5002 10.1.0.1 10.2.0.1',
      'lab_wait_assoc a 2 15',
      // ... whose second path is routed through the first link: no path diversity
      'ip -n a route add 10.2.0.2/32 dev va1',
      'ip -n a route get 10.2.0.2',
      'set +e',
      'ip netns exec a "$NODE" "$LAB_REPO/dist/src/cli.js" --json doctor >"$LAB_OUT/doctor.json" 2>"$LAB_OUT/doctor.err"',
      'echo "doctor-exit=$?"',
      'ip netns exec a "$NODE" "$LAB_REPO/dist/src/cli.js" --no-color doctor',
      'true',
    ].join('\n'),
  });
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  const code = Number(/doctor-exit=(\d+)/.exec(r.stdout)?.[1]);
  assert.equal(code, 9, `doctor exits 9 (failure: addip_noauth)\n${diag}`);
  const rep = JSON.parse(readFileSync(join(r.outDir, 'doctor.json'), 'utf8')) as {
    exitCode: number;
    capture: boolean;
    checks: { id: string; severity: string; associations?: number[]; evidence: string[] }[];
  };
  const byId = new Map(rep.checks.map((c) => [c.id, c]));
  assert.equal(rep.capture, false);
  assert.equal(byId.get('sysctl.addip-noauth')?.severity, 'fail', diag);
  assert.equal(byId.get('assoc.locally-single-homed')?.severity, 'warn', diag);
  assert.equal(byId.get('assoc.locally-single-homed')?.associations?.length, 1, diag);
  const shared = byId.get('paths.shared-route');
  assert.equal(shared?.severity, 'warn', diag);
  assert.ok(shared?.evidence.some((e) => /10\.1\.0\.2 and 10\.2\.0\.2 all leave through va1/.test(e)), diag);
  assert.equal(byId.get('platform.sctp-module')?.severity, 'ok', diag);
  t.diagnostic(`lab run took ${r.durationMs} ms`);
});
