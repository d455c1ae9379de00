// Lab: doctor's field checks (issue 17) on the real 6.1 kernel, in one boot:
// a modprobe.d file disabling sctp, strict rp_filter on the secondary interface
// with a route asymmetry (the peer's path through it really goes INACTIVE),
// IPVS with an SCTP service and sloppy_sctp 0, conntrack with an nft SCTP SNAT
// rule, and SCTP memory read against sctp_mem.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnostics, guestOnce, labOrSkip } from './guard.js';

interface Report {
  checks: { id: string; severity: string; title: string; evidence: string[]; remedy: string; associations?: number[] }[];
}

// the lab slot is shared: the timeout covers waiting for it as well as the boot
const run = guestOnce({
  timeoutMs: 600_000,
  script: [
    'set -e',
    'NODE="$(command -v node || echo "${LAB_NODE_DIR:-/usr/bin}/node")"',
    'lab_topology 2',
    'lab_fast a b',
    'lab_multihomed',
    // a hardening profile's line (the guest's / is a tmpfs overlay)
    'mkdir -p /etc/modprobe.d && printf "# CIS 3.4.2\\ninstall sctp /bin/true\\n" >/etc/modprobe.d/field-cis.conf',
    // b's path to 10.2.0.1 confirmed first: a path dropped before it is confirmed stays UNCONFIRMED, never INACTIVE
    'lab_wait_path b 10.2.0.1 2 90',
    // a's route to the peer's secondary address leaves by va1, while the peer's packets from it arrive on va2, strict
    'ip -n a route add 10.2.0.2/32 dev va1',
    'ip netns exec a sysctl -qw net.ipv4.conf.va2.rp_filter=1',
    // the path really fails: b's heartbeats to 10.2.0.1 (arriving on va2) are dropped
    'lab_wait_path b 10.2.0.1 0 90',
    'echo "rp-path-inactive=yes"',
    // IPVS with an SCTP virtual service; sloppy_sctp is 0 by default
    'modprobe ip_vs',
    'ip netns exec a ipvsadm -A --sctp-service 10.1.0.1:7000 -s rr',
    'ip netns exec a ipvsadm -a --sctp-service 10.1.0.1:7000 -r 10.1.0.2:7000 -m',
    // conntrack (loaded by the nat chain) with an SCTP SNAT rule on the secondary path
    'ip netns exec a nft add table ip fieldnat',
    "ip netns exec a nft 'add chain ip fieldnat post { type nat hook postrouting priority 100 ; }'",
    'ip netns exec a nft add rule ip fieldnat post ip daddr 10.2.0.2 meta l4proto sctp snat to 10.1.0.1',
    'ip netns exec a nft -j list ruleset >"$LAB_OUT/nft.json"',
    'ip netns exec a cat /proc/net/protocols >"$LAB_OUT/protocols.txt"',
    'ip netns exec a cat /proc/net/ip_vs >"$LAB_OUT/ip_vs.txt"',
    // an INIT to a port nobody listens on in b: out of the blue there, answered with ABORT
    'echo hi | ip netns exec a timeout 20 sctp_darn -H 10.1.0.1 -P 6999 -h 10.1.0.2 -p 5999 -s >/dev/null 2>&1 || true',
    "ootb() { ip netns exec b awk '$1 == \"SctpOutOfBlues\" && $2 > 0 { f = 1 } END { exit !f }' /proc/net/sctp/snmp; }",
    'for i in $(seq 1 300); do ootb && break; sleep 0.2; done',
    'set +e',
    'ip netns exec b "$NODE" "$LAB_REPO/dist/src/cli.js" --json doctor >"$LAB_OUT/doctor-b.json" 2>/dev/null',
    'ip netns exec a "$NODE" "$LAB_REPO/dist/src/cli.js" --json doctor >"$LAB_OUT/doctor.json" 2>"$LAB_OUT/doctor.err"',
    'echo "doctor-exit=$?"',
    'ip netns exec a "$NODE" "$LAB_REPO/dist/src/cli.js" --no-color doctor -v | sed -n "/field/,\\$p"',
    'true',
  ].join('\n'),
});

async function report(t: test.TestContext): Promise<{ byId: Map<string, Report['checks'][number]>; diag: string } | null> {
  if (!labOrSkip(t)) return null;
  const r = await run();
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  assert.match(r.stdout, /rp-path-inactive=yes/, diag);
  assert.match(r.stdout, /doctor-exit=[89]\b/, diag);
  const rep = JSON.parse(readFileSync(join(r.outDir, 'doctor.json'), 'utf8')) as Report;
  return { byId: new Map(rep.checks.map((c) => [c.id, c])), diag };
}

const SLOT = { timeout: 900_000 };

test('lab: `install sctp /bin/true` in /etc/modprobe.d is flagged (sctp loaded now: warn)', SLOT, async (t) => {
  const x = await report(t);
  if (!x) return;
  const c = x.byId.get('field.sctp-module-blocked');
  assert.equal(c?.severity, 'warn', x.diag);
  assert.ok(c?.evidence.includes('/etc/modprobe.d/field-cis.conf:2: install sctp /bin/true'), JSON.stringify(c));
  assert.equal(x.byId.get('field.sctp-module-installed')?.severity, 'ok', x.diag);
});

test('lab: strict rp_filter on va2 with the route to 10.2.0.2 via va1 is flagged (and the path went INACTIVE)', SLOT, async (t) => {
  const x = await report(t);
  if (!x) return;
  const c = x.byId.get('field.rp-filter');
  assert.equal(c?.severity, 'warn', JSON.stringify(c));
  assert.ok(c?.evidence.some((e) => /path 10\.2\.0\.2: route leaves by va1, but rp_filter is strict on va2/.test(e)), JSON.stringify(c));
});

test('lab: IPVS SCTP service with sloppy_sctp 0 is flagged', SLOT, async (t) => {
  const x = await report(t);
  if (!x) return;
  const c = x.byId.get('field.ipvs-sloppy-sctp');
  assert.equal(c?.severity, 'warn', JSON.stringify(c));
  assert.ok(c?.evidence.includes('SCTP virtual service 10.1.0.1:7000 rr'), JSON.stringify(c));
});

test('lab: conntrack with an nft SCTP SNAT rule: doctor names the rule and conntrack on the multi-homed association', SLOT, async (t) => {
  const x = await report(t);
  if (!x) return;
  const nat = x.byId.get('field.sctp-nat');
  assert.equal(nat?.severity, 'warn', JSON.stringify(nat));
  assert.ok(nat?.evidence.some((e) => /^nft: ip fieldnat post handle \d+: snat \(sctp\)$/.test(e)), JSON.stringify(nat));
  const ct = x.byId.get('field.conntrack-sctp');
  assert.equal(ct?.severity, 'info', JSON.stringify(ct));
  assert.ok(ct?.evidence.some((e) => /nf_conntrack_sctp_timeout_established/.test(e)), JSON.stringify(ct));
  assert.equal(ct?.associations?.length, 1, JSON.stringify(ct));
});

test('lab: SCTP memory read from /proc/net/protocols; sctp_mem exists in the initial netns only', SLOT, async (t) => {
  const x = await report(t);
  if (!x) return;
  const c = x.byId.get('field.sctp-mem');
  assert.equal(c?.severity, 'info', JSON.stringify(c));
  assert.match(c?.title ?? '', /initial one/);
  assert.ok(c?.evidence.some((e) => /^SCTP memory in use: \d+ pages/.test(e)), JSON.stringify(c));
});

test('lab: an INIT to a closed port counts as out of the blue in the peer: field.aborts-ootb shows it', SLOT, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  const rep = JSON.parse(readFileSync(join(r.outDir, 'doctor-b.json'), 'utf8')) as Report;
  const c = rep.checks.find((x) => x.id === 'field.aborts-ootb');
  assert.equal(c?.severity, 'info', JSON.stringify(c));
  assert.ok(c?.evidence.some((e) => /^SctpOutOfBlues [1-9]\d* since boot$/.test(e)), JSON.stringify(c));
});
