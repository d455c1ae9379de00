// `sctpdiag top` end to end in the QEMU lab, under tmux: the multi-homed association with
// both paths up, named by a links file (and an expected link without association shown
// down); cut va1 → the screen shows the path PF/INACTIVE, the event and the link below its
// min-active; q exits 0 and the terminal is restored. Skips (or fails, when the lab is
// required) without a lab.
import test from 'node:test';
import assert from 'node:assert/strict';
import { runInGuest } from './vm.js';
import { labOrSkip, diagnostics } from './guard.js';


/** The guest script: prints `=== name` sections (pane captures) and `EXIT=n`. */
export const TOP_GUEST_SCRIPT = String.raw`
set -e
lab_topology 2
lab_fast a b
lab_multihomed 6001 5001
lab_wait_path a 10.1.0.2 2 15
lab_wait_path a 10.2.0.2 2 15
printf 'm3ua-b peer=10.1.0.2 peer-port=5001 min-active=2\nhss-1 peer-port=3868\n' >/tmp/top-links.conf
export NCURSES_NO_UTF8_ACS=1 LANG=C.UTF-8 TERM=xterm-256color
snap() { tmux capture-pane -p -t top; }
wait_screen() { # REGEX TIMEOUT_S
  local i
  for ((i = 0; i < $2 * 4; i++)); do snap | grep -Eq "$1" && return 0; sleep 0.25; done
  lab_log "top: screen never matched $1"; snap >&2; return 1
}
tmux new-session -d -x 120 -y 36 -s top \
  "ip netns exec a node dist/src/cli.js top --interval 500 --links /tmp/top-links.conf; echo EXIT=\$? >$LAB_OUT/top.exit; sleep 600"
wait_screen '2/2 up' 60
echo '=== up'; snap
lab_cut a va1
wait_screen '1/2 (PF|INACT)' 60
wait_screen 'path\.state #[0-9]+ 10\.1\.0\.2 ACTIVE→(PF|INACTIVE)' 30
echo '=== cut'; snap
tmux send-keys -t top q
for ((i = 0; i < 40; i++)); do [[ -s $LAB_OUT/top.exit ]] && break; sleep 0.25; done
echo '=== after-q'; snap
cat "$LAB_OUT/top.exit"
tmux kill-server
`;

function section(out: string, name: string): string {
  const m = new RegExp(`^=== ${name}\\n([\\s\\S]*?)(?=^=== |^EXIT=|(?![\\s\\S]))`, 'm').exec(out);
  return m?.[1] ?? '';
}

test('lab: top under tmux shows both paths up, then the cut path and its event; q exits 0', { timeout: 3_600_000 /* includes waiting for a shared lab slot; the VM has its own 360 s */ }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await runInGuest({ timeoutMs: 360_000, memMb: 1536, script: TOP_GUEST_SCRIPT });
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  const up = section(r.stdout, 'up');
  assert.match(up, /^sctpdiag top · host/m, diag);
  assert.match(up, /ESTAB +6001→5001 +m3ua-b .*2\/2 up/, diag);
  assert.match(up, /links 1\/2 DOWN hss-1/, diag);
  assert.match(up, /10\.1\.0\.2 +ACTIVE/, diag);
  assert.match(up, /10\.2\.0\.2 +ACTIVE/, diag);
  const cut = section(r.stdout, 'cut');
  assert.match(cut, /6001→5001 .*1\/2 (PF|INACT)/, diag);
  assert.match(cut, /10\.1\.0\.2 +(PF|INACTIVE) /, diag);
  assert.match(cut, /path\.state #\d+ 10\.1\.0\.2 ACTIVE→(PF|INACTIVE)/, diag);
  assert.match(cut, /below min-active m3ua-b/, diag);
  assert.match(r.stdout, /^EXIT=0$/m, diag);
  // the terminal is restored: the dashboard is gone from the pane
  assert.doesNotMatch(section(r.stdout, 'after-q'), /sctpdiag top · host/, diag);
  t.diagnostic(`lab run took ${r.durationMs} ms`);
});
