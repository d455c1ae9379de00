// `sctpdiag trace` against the real kernel in the QEMU lab, with bpftrace and
// with --no-bpf: cut the primary link of a multi-homed association (v4 and v6
// paths), restore it, add an address by ASCONF on a wildcard-bound
// association, kill -9 the bpftrace child, cut every path, SIGTERM sctpdiag;
// with bpftrace also heartbeats and their RTT.
// Skips (or fails, when the lab is required) if the lab is unavailable.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest, type GuestResult } from './vm.js';
import { labOrSkip } from './guard.js';
import type { SctpEvent } from '../../src/events/types.js';


function script(mode: 'bpf' | 'procfs'): string {
  const flags = mode === 'bpf' ? '' : '--no-bpf --interval 200';
  return String.raw`
set -e
mark() { echo "$1 $EPOCHREALTIME" >>"$LAB_OUT/marks"; }
lab_topology 2 v6
for ns in a b; do
  lab_fast $ns
  # association_max_retrans 8: a lost association lingers ~4 s with its paths INACTIVE, so that
  # procfs polling (--no-bpf) sees them fail before it is gone and calls it lost, not closed
  lab_sysctl $ns addip_enable=1 auth_enable=1 default_auto_asconf=1 association_max_retrans=8
done
lab_multihomed 6001 5001
lab_darn_server srv7000 b 7000 fd00:1::2 fd00:2::2
lab_py_server srv8000 b 8000
lab_wait_listen b 7000 30; lab_wait_listen b 8000 30
lab_darn_client cli7001 a 7001 fd00:1::2 7000 fd00:1::1 fd00:2::1
lab_py_client cli8000 a 10.2.0.2 8000 --interval 0.2
lab_wait_assoc a 3 30
lab_wait_path a 10.1.0.2 2 30
lab_wait_path a fd00:1::2 2 30
# stdout lines stamped with the time they reached us (latency kernel -> stdout)
( node dist/src/cli.js --netns a trace --json --events all --log "$LAB_OUT/events.log" ${flags} 2>"$LAB_OUT/trace.err" \
    | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$LAB_OUT/trace.out" ) &
want='"to":"procfs"'; [[ ${mode} == bpf ]] && want='"to":"bpf"'
for i in $(seq 1 900); do grep -q "$want" "$LAB_OUT/trace.out" 2>/dev/null && break; sleep 0.2; done
mark started
grep -q "$want" "$LAB_OUT/trace.out"
TP=$(pgrep -f -o 'dist/src/cli.js --netns a trace')
sleep 2
mark cut1; lab_cut a va1
lab_wait_path a 10.1.0.2 0 30; mark detected1
sleep 2
mark restore1; lab_restore a va1
lab_wait_path a 10.1.0.2 2 30; mark restored1
sleep 2
mark asconf; lab_add_link 4
sleep 6
if [[ ${mode} == bpf ]]; then
  BP=$(pgrep -x bpftrace)
  mark kill9; kill -9 $BP
  for i in $(seq 1 300); do [[ $(grep -c '"to":"bpf"' "$LAB_OUT/trace.out") -ge 2 ]] && break; sleep 0.2; done
  mark reattached
  mark cut2; lab_cut a va1
  lab_wait_path a 10.1.0.2 0 30; mark detected2
  lab_restore a va1
  lab_wait_path a 10.1.0.2 2 30
fi
mark lose; lab_cut a va1; lab_cut a va2; lab_cut a va4
for i in $(seq 1 300); do grep -q '"type":"assoc.down".*"localPort":6001' "$LAB_OUT/trace.out" && break; sleep 0.2; done
mark lost
sleep 2
mark sigterm; kill -TERM $TP
for i in $(seq 1 50); do kill -0 $TP 2>/dev/null || break; sleep 0.1; done
sleep 1
if pgrep -x bpftrace >/dev/null; then echo "LEFTOVER=yes"; else echo "LEFTOVER=no"; fi
pgrep -f 'cli.js' >/dev/null && echo "CLI_LEFT=yes" || echo "CLI_LEFT=no"
`;
}

interface Stamped {
  at: number;
  e: SctpEvent;
}

function load(r: GuestResult): { ev: Stamped[]; marks: Record<string, number>; log: SctpEvent[] } {
  const ev: Stamped[] = [];
  const f = join(r.outDir, 'trace.out');
  if (existsSync(f))
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      const sp = l.indexOf(' ');
      if (sp < 0) continue;
      ev.push({ at: Number(l.slice(0, sp)) * 1000, e: JSON.parse(l.slice(sp + 1)) as SctpEvent });
    }
  const marks: Record<string, number> = {};
  const mf = join(r.outDir, 'marks');
  if (existsSync(mf))
    for (const l of readFileSync(mf, 'utf8').trim().split('\n')) {
      const [k, v] = l.split(' ');
      if (k && v) marks[k] = Number(v) * 1000;
    }
  const lf = join(r.outDir, 'events.log');
  const log = existsSync(lf) ? readFileSync(lf, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SctpEvent) : [];
  return { ev, marks, log };
}

function diag(r: GuestResult): string {
  const err = existsSync(join(r.outDir, 'trace.err')) ? readFileSync(join(r.outDir, 'trace.err'), 'utf8') : '';
  return `exit=${r.exitCode} timedOut=${r.timedOut} boots=${r.boots} outDir=${r.outDir}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-3000)}\n--- trace.err\n${err.slice(-2000)}\n--- console\n${r.console.slice(-2000)}`;
}

for (const mode of ['bpf', 'procfs'] as const) {
  test(`lab: trace (${mode === 'bpf' ? 'bpftrace' : '--no-bpf'}): failover, restore, ASCONF, ${mode === 'bpf' ? 'kill -9, ' : ''}loss, SIGTERM`, { timeout: 3_600_000 } /* includes waiting for a lab slot */, async (t) => {
    if (!labOrSkip(t)) return;
    const r = await runInGuest({ script: script(mode), timeoutMs: 800_000, memMb: 1024 });
    const d = diag(r);
    assert.equal(r.timedOut, false, d);
    assert.equal(r.exitCode, 0, d);
    const { ev, marks, log } = load(r);
    const after = (m: string) => ev.filter((x) => x.at >= marks[m]!);
    const src = ev.filter((x) => x.e.type === 'source.changed');
    assert.ok(src.some((x) => x.e.to === (mode === 'bpf' ? 'bpf' : 'procfs')), d);
    assert.ok(ev.every((x) => x.e.netns === 'a' && x.e.schemaVersion === 1));
    const expectSource = mode === 'bpf' ? 'bpf' : 'procfs';

    // 1. cut va1: PF/INACTIVE for 10.1.0.2 on the 6001 association, within detection + 1 s
    const down = after('cut1').find(
      (x) => x.e.type === 'path.state' && x.e.path === '10.1.0.2' && x.e.assoc?.localPort === 6001 && (x.e.to === 'PF' || x.e.to === 'INACTIVE'),
    );
    assert.ok(down, `no PF/INACTIVE event for 10.1.0.2\n${d}`);
    assert.equal(down.e.source, expectSource);
    assert.ok(down.e.assoc!.id > 0);
    assert.deepEqual([...(down.e.assoc!.localAddresses ?? [])].sort(), ['10.1.0.1', '10.2.0.1']);
    // bpf: the kernel's detection (procfs shows INACTIVE, polled every 0.2 s) + 1 s;
    // procfs fallback: + one more polling interval and a snapshot read under TCG
    const slack = mode === 'bpf' ? 1000 : 2000;
    assert.ok(down.at <= marks.detected1! + slack, `event arrived ${down.at - marks.detected1!} ms after procfs showed INACTIVE`);
    t.diagnostic(`${mode}: cut → first path event ${Math.round(down.at - marks.cut1!)} ms; procfs INACTIVE at ${Math.round(marks.detected1! - marks.cut1!)} ms; event time → stdout ${Math.round(down.at - Date.parse(down.e.time))} ms`);
    // IPv6 paths on the same link carry the IPv6 address
    assert.ok(
      after('cut1').some((x) => x.e.type === 'path.state' && x.e.path === 'fd00:1::2' && x.e.assoc?.localPort === 7001 && x.e.to !== 'ACTIVE'),
      `no IPv6 path event\n${d}`,
    );

    // 2. restore: back to ACTIVE, and the active path switches back to the primary
    const up = after('restore1').find((x) => x.e.type === 'path.state' && x.e.path === '10.1.0.2' && x.e.assoc?.localPort === 6001 && x.e.to === 'ACTIVE');
    assert.ok(up, `no ACTIVE event after restore\n${d}`);
    assert.equal(up.e.activePath, '10.1.0.2');

    // 3. ASCONF: the peer's new address is added to the wildcard-bound association
    const added = after('asconf').find((x) => x.e.type === 'peer.added' && x.e.path === '10.4.0.2');
    assert.ok(added, `no peer.added 10.4.0.2\n${d}`);
    assert.equal(added.e.assoc?.peerPort, 8000);

    // heartbeats (bpf only: procfs cannot see them): sent and acknowledged on the
    // multi-homed association's paths, the ACK with its RTT
    if (mode === 'bpf') {
      const hb = ev.filter((x) => x.e.type === 'path.heartbeat' && x.e.assoc?.localPort === 6001);
      const peers = ['10.1.0.2', '10.2.0.2'];
      assert.ok(hb.every((x) => x.e.source === 'bpf' && x.e.assoc!.id > 0 && peers.includes(x.e.path ?? '')), JSON.stringify(hb.slice(0, 3)));
      assert.ok(hb.some((x) => x.e.reason === 'HEARTBEAT sent'), `no HEARTBEAT sent on 6001\n${d}`);
      const acks = hb.filter((x) => x.e.reason === 'HEARTBEAT-ACK received');
      assert.ok(acks.length > 0, `no HEARTBEAT-ACK on 6001\n${d}`);
      // an ACK has its RTT when this bpftrace saw the send: not the first ACK on a path after an (re)attach
      const sendSeen = new Set<string>();
      const unexplained: unknown[] = [];
      for (const x of ev) {
        if (x.e.type === 'source.changed') sendSeen.clear();
        if (x.e.type !== 'path.heartbeat' || x.e.assoc?.localPort !== 6001) continue;
        const key = `${x.e.assoc.id}/${x.e.path}`;
        if (x.e.reason === 'HEARTBEAT sent') sendSeen.add(key);
        else if (sendSeen.has(key) && x.e.metrics?.rttMs === undefined) unexplained.push(x.e);
      }
      assert.deepEqual(unexplained, [], 'HEARTBEAT-ACKs without an RTT after their send was seen');
      const rtts = acks.map((x) => x.e.metrics?.rttMs).filter((v) => v !== undefined);
      assert.ok(rtts.length > 0 && rtts.every((v) => typeof v === 'number' && v >= 0 && v < 5000), `RTTs ${JSON.stringify(rtts)}`);
      t.diagnostic(`bpf: ${hb.length} heartbeat events on 6001, ACK RTT median ${[...(rtts as number[])].sort((a, b) => a - b)[rtts.length >> 1]} ms`);
    }

    // 4. kill -9 of bpftrace: announced, restarted, events resume
    if (mode === 'bpf') {
      const died = after('kill9').find((x) => x.e.type === 'source.changed' && x.e.from === 'bpf' && /SIGKILL/.test(x.e.reason ?? ''));
      assert.ok(died, `bpftrace death not announced\n${d}`);
      assert.ok(after('kill9').some((x) => x.e.type === 'source.changed' && x.e.to === 'bpf'), d);
      const again = after('cut2').find((x) => x.e.type === 'path.state' && x.e.path === '10.1.0.2' && x.e.source === 'bpf');
      assert.ok(again, `no bpf events after the restart\n${d}`);
      t.diagnostic(`bpf: kill -9 → re-attached in ${Math.round(marks.reattached! - marks.kill9!)} ms`);
    }

    // 5. every path cut: the association is lost
    const lost = after('lose').find((x) => x.e.type === 'assoc.down' && x.e.assoc?.localPort === 6001);
    assert.ok(lost, `no assoc.down for 6001\n${d}`);
    assert.equal(lost.e.severity, 'fail');

    // 6. SIGTERM: sctpdiag ends, no bpftrace left; the log holds complete JSON lines
    assert.match(r.stdout, /LEFTOVER=no/, d);
    assert.match(r.stdout, /CLI_LEFT=no/, d);
    assert.ok(log.length >= ev.length - 1, `log has ${log.length} lines, stdout ${ev.length}`);
  });
}
