// issue #19: `trace` must see a failover that starts right after it does. A
// cold first read once paced the next procfs read ~30 s out, so a link cut and
// restored in the first seconds gave no path.state at all. Both modes in one
// guest: bpftrace (still attaching under TCG: procfs meanwhile), then --no-bpf.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnostics, guestOnce, labOrSkip } from './guard.js';
import type { SctpEvent } from '../../src/events/types.js';

const MODES = { bpf: '', procfs: '--no-bpf --interval 200' } as const;

const script = String.raw`
set -e
mark() { echo "$1 $EPOCHREALTIME" >>"$LAB_OUT/marks"; }
lab_topology 2
for ns in a b; do lab_fast $ns; done
lab_multihomed 6001 5001
lab_wait_path a 10.1.0.2 2 30
lab_wait_path a 10.2.0.2 2 30
${Object.entries(MODES)
  .map(
    ([mode, flags]) => String.raw`
( node dist/src/cli.js --netns a trace --json ${flags} 2>"$LAB_OUT/${mode}.err" \
    | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$LAB_OUT/${mode}.out" ) &
# trace has started when it prints its first line (the source it starts with)
for i in $(seq 1 600); do [[ -s "$LAB_OUT/${mode}.out" ]] && break; sleep 0.1; done
mark ${mode}_started
mark ${mode}_cut; lab_cut a va1
lab_wait_path a 10.1.0.2 0 30; mark ${mode}_detected
for i in $(seq 1 150); do grep -q '"type":"path.state".*"path":"10.1.0.2"' "$LAB_OUT/${mode}.out" && break; sleep 0.1; done
mark ${mode}_restore; lab_restore a va1
lab_wait_path a 10.1.0.2 2 30; mark ${mode}_restored
for i in $(seq 1 300); do grep -q '"path":"10.1.0.2".*"to":"ACTIVE"' "$LAB_OUT/${mode}.out" && break; sleep 0.1; done
kill -TERM $(pgrep -f -o 'dist/src/cli.js --netns a trace')
for i in $(seq 1 100); do pgrep -f 'cli.js' >/dev/null || break; sleep 0.1; done
`,
  )
  .join('\n')}
echo DONE
`;

const run = guestOnce({ script, timeoutMs: 900_000, memMb: 1024 });

function load(outDir: string, mode: string): { ev: { at: number; e: SctpEvent }[]; marks: Record<string, number> } {
  const f = join(outDir, `${mode}.out`);
  const ev = existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.includes(' {'))
        .map((l) => ({ at: Number(l.slice(0, l.indexOf(' '))) * 1000, e: JSON.parse(l.slice(l.indexOf(' ') + 1)) as SctpEvent }))
    : [];
  const marks: Record<string, number> = {};
  const mf = join(outDir, 'marks');
  if (existsSync(mf))
    for (const l of readFileSync(mf, 'utf8').trim().split('\n')) {
      const [k, v] = l.split(' ');
      if (k && v) marks[k] = Number(v) * 1000;
    }
  return { ev, marks };
}

for (const mode of Object.keys(MODES) as (keyof typeof MODES)[]) {
  test(`lab: trace (${mode === 'bpf' ? 'bpftrace' : '--no-bpf'}) sees a link cut within 5 s of its start, and the restore`, { timeout: 3_600_000 }, async (t) => {
    if (!labOrSkip(t)) return;
    const r = await run();
    const d = diagnostics(r) + (existsSync(join(r.outDir, `${mode}.err`)) ? `\n--- ${mode}.err\n${readFileSync(join(r.outDir, `${mode}.err`), 'utf8').slice(-2000)}` : '');
    assert.equal(r.timedOut, false, d);
    assert.equal(r.exitCode, 0, d);
    assert.match(r.stdout, /DONE/, d);
    const { ev, marks } = load(r.outDir, mode);
    const m = (k: string) => marks[`${mode}_${k}`]!;
    assert.ok(m('cut') - m('started') <= 5000, `the cut came ${m('cut') - m('started')} ms after trace started`);
    const is = (x: { e: SctpEvent }, to: (s: string) => boolean) =>
      x.e.type === 'path.state' && x.e.path === '10.1.0.2' && x.e.assoc?.localPort === 6001 && to(x.e.to ?? '');
    const down = ev.find((x) => x.at >= m('cut') && is(x, (s) => s === 'PF' || s === 'INACTIVE'));
    assert.ok(down, `no PF/INACTIVE path.state for 10.1.0.2 while the link was cut\n${d}`);
    assert.ok(down.at < m('restore'), `the down event came after the restore\n${d}`);
    // a poll every 200 ms (or bpf): seconds of slack for the emulator, far below the ~30 s of the defect
    assert.ok(down.at <= m('detected') + 5000, `the event came ${Math.round(down.at - m('detected'))} ms after procfs showed INACTIVE`);
    const up = ev.find((x) => x.at >= m('restore') && is(x, (s) => s === 'ACTIVE'));
    assert.ok(up, `no ACTIVE path.state for 10.1.0.2 after the restore\n${d}`);
    t.diagnostic(
      `${mode}: started→cut ${Math.round(m('cut') - m('started'))} ms; procfs INACTIVE at +${Math.round(m('detected') - m('cut'))} ms; event at +${Math.round(down.at - m('cut'))} ms (${down.e.source}); ACTIVE event ${Math.round(up.at - m('restored'))} ms after procfs showed it`,
    );
  });
}
