// Lab: ABORT causes and out-of-the-blue packets in `sctpdiag trace` (issue 17)
// on the real 6.1 kernel, in one boot, traced in netns b with bpftrace and,
// at the same time, with --no-bpf:
//  - b's server closes with SO_LINGER 0: ABORT sent, User-Initiated Abort;
//  - a's client closes with SO_LINGER 0: ABORT received by b, same cause;
//  - a rewrites the source of its packets to b's secondary address (10.2.0.1 →
//    10.2.0.9, nft `ip saddr set`, what a NAT does to them): b gets the
//    heartbeats from 10.2.0.9, out of the blue, and answers them with an ABORT
//    (T bit, no cause): the field's "NAT breaks multi-homing";
//  - procfs only: the SNMP counters' deltas, without cause or source.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnostics, guestOnce, labOrSkip } from './guard.js';
import type { GuestResult } from './vm.js';
import type { SctpEvent } from '../../src/events/types.js';

const run = guestOnce({
  timeoutMs: 600_000,
  script: String.raw`
set -e
lab_topology 2
lab_fast a b
# b heartbeats a confirmed path rarely: what reaches b from 10.2.0.9 are a's HEARTBEATs
lab_sysctl b hb_interval=600000
lab_multihomed
# b's path to a's secondary address confirmed: heartbeats flow on it
lab_wait_path b 10.2.0.1 2 90
printf 'srv8100 local-port=8100\nsrv8200 local-port=8200\n' >"$LAB_OUT/links.conf"
node dist/src/cli.js --netns b trace --json --events chunk.abort,chunk.error,packet.ootb --links "$LAB_OUT/links.conf" >"$LAB_OUT/trace.out" 2>"$LAB_OUT/trace.err" &
T1=$!
node dist/src/cli.js --netns b trace --json --no-bpf --interval 200 --events chunk.abort,packet.ootb >"$LAB_OUT/procfs.out" 2>"$LAB_OUT/procfs.err" &
T2=$!
for i in $(seq 1 900); do grep -q '"to":"bpf"' "$LAB_OUT/trace.out" 2>/dev/null && break; sleep 0.2; done
grep -q '"to":"bpf"' "$LAB_OUT/trace.out"
P=test/lab/guest/abort_peer.py
lab_bg s8100 b python3 "$P" server --bind 10.1.0.2 --port 8100 --abort
lab_bg s8200 b python3 "$P" server --bind 10.1.0.2 --port 8200
lab_wait_listen b 8100 60; lab_wait_listen b 8200 60
ip netns exec a timeout 60 python3 "$P" client --connect 10.1.0.2 --port 8100
ip netns exec a timeout 60 python3 "$P" client --connect 10.1.0.2 --port 8200 --abort
seen() { grep -q "$1" "$2" 2>/dev/null; }
for i in $(seq 1 300); do seen '"type":"chunk.abort".*"localPort":8200' "$LAB_OUT/trace.out" && break; sleep 0.2; done
# a's packets to b's secondary address leave with another source address (stateless:
# conntrack would NAT the flow only if a's packet, not b's, opened it)
ip -n a addr add 10.2.0.9/24 dev va2
ip netns exec a nft add table ip abortlab
ip netns exec a nft 'add chain ip abortlab out { type filter hook output priority 0 ; }'
ip netns exec a nft add rule ip abortlab out ip daddr 10.2.0.2 meta l4proto sctp ip saddr set 10.2.0.9
for i in $(seq 1 600); do seen '"type":"packet.ootb".*"path":"10.2.0.9"' "$LAB_OUT/trace.out" && seen '"path":"10.2.0.9","direction":"out"' "$LAB_OUT/trace.out" && break; sleep 0.2; done
for i in $(seq 1 300); do seen '"type":"packet.ootb"' "$LAB_OUT/procfs.out" && break; sleep 0.2; done
ip netns exec b grep -E 'SctpAborteds|SctpOutOfBlues' /proc/net/sctp/snmp
lab_assocs a
cat "$LAB_LOG/s8100.log" "$LAB_LOG/s8200.log"
kill -TERM $T1 $T2
wait $T1 $T2 || true
`,
});

function events(r: GuestResult, file: string): SctpEvent[] {
  const f = join(r.outDir, file);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SctpEvent);
}

async function traced(t: test.TestContext): Promise<{ bpf: SctpEvent[]; procfs: SctpEvent[]; diag: string } | null> {
  if (!labOrSkip(t)) return null;
  const r = await run();
  const err = (f: string) => (existsSync(join(r.outDir, f)) ? readFileSync(join(r.outDir, f), 'utf8').slice(-2000) : '');
  const diag = `${diagnostics(r)}\n--- trace.err\n${err('trace.err')}\n--- trace.out\n${err('trace.out')}\n--- procfs.out\n${err('procfs.out')}`;
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  return { bpf: events(r, 'trace.out'), procfs: events(r, 'procfs.out'), diag };
}

// the lab slot is shared by six: the timeout covers the wait for it as well as the boot
const SLOT = { timeout: 3_600_000 };

test('lab: SO_LINGER 0 close by b: trace shows the ABORT sent, its cause, association, link and path', SLOT, async (t) => {
  const x = await traced(t);
  if (!x) return;
  const e = x.bpf.find((e) => e.type === 'chunk.abort' && e.assoc?.localPort === 8100);
  assert.ok(e, x.diag);
  assert.equal(e.source, 'bpf');
  assert.equal(e.direction, 'out');
  assert.equal(e.cause, 'user_abort');
  assert.equal(e.metrics?.causeCode, 12);
  assert.equal(e.path, '10.1.0.1');
  assert.equal(e.link, 'srv8100');
  assert.ok(e.assoc!.id > 0, JSON.stringify(e));
  assert.equal(e.netns, 'b');
});

test('lab: SO_LINGER 0 close by the peer: trace shows the ABORT received, its cause, association, link and path', SLOT, async (t) => {
  const x = await traced(t);
  if (!x) return;
  const e = x.bpf.find((e) => e.type === 'chunk.abort' && e.assoc?.localPort === 8200);
  assert.ok(e, x.diag);
  assert.equal(e.direction, 'in');
  assert.equal(e.cause, 'user_abort');
  assert.equal(e.path, '10.1.0.1');
  assert.equal(e.link, 'srv8200');
  assert.ok(e.assoc!.id > 0, JSON.stringify(e));
  assert.match(e.reason ?? '', /^ABORT received from 10\.1\.0\.1: User-Initiated Abort \(cause 12\)$/);
});

test('lab: a source rewritten on the secondary path: trace shows the OOTB heartbeat with its source and the ABORT answering it', SLOT, async (t) => {
  const x = await traced(t);
  if (!x) return;
  const o = x.bpf.find((e) => e.type === 'packet.ootb' && e.path === '10.2.0.9' && /^HEARTBEAT /.test(e.reason ?? ''));
  assert.ok(o, x.diag);
  assert.deepEqual([o.assoc?.localPort, o.assoc?.peerPort], [5001, 6001]);
  assert.match(o.reason ?? '', /^HEARTBEAT from 10\.2\.0\.9 to 10\.2\.0\.2 matches no association; association \d+ has these ports with peer address\(es\) (10\.1\.0\.1, 10\.2\.0\.1|10\.2\.0\.1, 10\.1\.0\.1): a NAT/);
  const a = x.bpf.find((e) => e.type === 'chunk.abort' && e.direction === 'out' && e.path === '10.2.0.9');
  assert.ok(a, x.diag);
  assert.equal(a.cause, 'none');
  assert.match(a.reason ?? '', /T bit/);
});

test('lab: --no-bpf: the SNMP deltas as chunk.abort and packet.ootb, with a count and the note that causes need bpf', SLOT, async (t) => {
  const x = await traced(t);
  if (!x) return;
  const ab = x.procfs.filter((e) => e.type === 'chunk.abort');
  assert.ok(ab.length > 0, x.diag);
  assert.ok(ab.every((e) => e.source === 'procfs' && e.cause === undefined && /need bpf/.test(e.reason ?? '')), JSON.stringify(ab));
  assert.ok(ab.reduce((n, e) => n + (e.metrics?.count ?? 0), 0) >= 2, JSON.stringify(ab));
  const o = x.procfs.find((e) => e.type === 'packet.ootb');
  assert.ok(o && o.metrics!.count! >= 1, x.diag);
});
