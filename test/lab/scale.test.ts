// `sctpdiag status` at 2,000 associations on the real kernel: large enough that
// /proc/net/sctp/assocs is read in two byte ranges side by side (procfs/costly.ts,
// chunks.ts SplitReader). The ranges must add up to what `cat` prints: every
// association once, none lost at the cut. Associations come from the bench's
// generator (bench/lab/gen_assocs.py: 90% one-to-one, 10% on one one-to-many socket).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertGuestOk, diagnostics, guestOnce, labOrSkip } from './guard.js';
import type { StatusReport } from '../../src/commands/status.js';

const N = 2000;

const SCRIPT = String.raw`
set -e
lab_topology 2
for ns in a b; do
  lab_sysctl "$ns" hb_interval=3600000      # idle: the files do not change while read
  _lab_netns_sysctl "$ns" net/core/somaxconn 65535
done
mkfifo /tmp/gen.ctl
python3 -u "$LAB_REPO/bench/lab/gen_assocs.py" --ctl /tmp/gen.ctl > "$LAB_OUT/gen.log" 2>&1 &
exec 7>/tmp/gen.ctl
echo ${N} >&7
for _ in $(seq 120); do grep -q "^ready ${N} " "$LAB_OUT/gen.log" && break; sleep 1; done
grep "^ready ${N} " "$LAB_OUT/gen.log"
inA() { nsenter --net=/run/netns/a "$@"; }
inA cat /proc/net/sctp/assocs > "$LAB_OUT/cat-assocs.txt"
# the reader status uses, alone: how many ranges, and the text it hands on
inA node --input-type=module -e '
  const { openSctpFile } = await import(process.argv[1] + "/dist/src/procfs/costly.js");
  const r = openSctpFile("/proc/net/sctp", "assocs");
  const parts = [];
  await r.attach((t) => parts.push(t), { sync: true });
  process.stdout.write(JSON.stringify({ ranges: r.rangeCount ?? 1, text: parts.join("") }));
' "$LAB_REPO" > "$LAB_OUT/split.json"
inA node "$LAB_REPO/dist/src/cli.js" --json status > "$LAB_OUT/status.json"
inA node "$LAB_REPO/dist/src/cli.js" capture "$LAB_OUT/cap"
exec 7>&-
`;

const run = guestOnce({ script: SCRIPT, timeoutMs: 400_000, memMb: 2048 });

/** ASSOC (the kernel's hashed pointer), unique per association, of each row */
const keys = (text: string): string[] =>
  text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/)[0]!)
    .sort();

test(`lab scale: at ${N} associations assocs is read in two ranges that add up to what cat prints`, { timeout: 420_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const cat = readFileSync(join(r.outDir, 'cat-assocs.txt'), 'utf8');
  const split = JSON.parse(readFileSync(join(r.outDir, 'split.json'), 'utf8')) as { ranges: number; text: string };
  assert.equal(keys(cat).length, N, diagnostics(r));
  assert.equal(split.ranges, 2, 'large enough to split');
  assert.equal(split.text.split('\n')[0], cat.split('\n')[0], 'the header first');
  assert.deepEqual(keys(split.text), keys(cat), 'the same associations, each once');
  assert.equal(split.text.length, cat.length, 'idle associations: the same bytes');
});

test(`lab scale: status and capture at ${N} associations list each association once`, { timeout: 420_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const status = JSON.parse(readFileSync(join(r.outDir, 'status.json'), 'utf8')) as StatusReport;
  assert.equal(status.associations.length, N);
  const ids = new Set(status.associations.map((a) => a.key));
  assert.equal(ids.size, N, 'no association twice');
  assert.ok(status.associations.every((a) => a.paths.length === 2 && a.localAddresses.length === 2), 'two paths, two local addresses each');
  assert.deepEqual(status.warnings, []);
  const captured = readFileSync(join(r.outDir, 'cap', 'net', 'sctp', 'assocs'), 'utf8');
  assert.deepEqual(keys(captured), keys(readFileSync(join(r.outDir, 'cat-assocs.txt'), 'utf8')), 'capture saves the text read, in order');
});
