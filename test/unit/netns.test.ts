// The --netns re-exec: an inherited SCTPDIAG_NETNS must neither skip the hop nor name the output.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, capture } from '../helpers.js';
import { EXIT } from '../../src/errors.js';
import { currentNetns, netnsCommand, stripNetnsArgs } from '../../src/netns.js';

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('an inherited SCTPDIAG_NETNS does not turn --netns into a no-op', () => {
  // before the fix the marker alone skipped the hop: tune ran here, in the current namespace
  const r = run(['--netns', 'sctpdiag-test-absent', 'tune', '--show', 'telecom'], { SCTPDIAG_NETNS: 'sctpdiag-test-absent' });
  assert.equal(r.code, EXIT.NOT_FOUND, r.out + r.err);
  assert.match(r.err, /network namespace "sctpdiag-test-absent" does not exist/);
  assert.equal(r.out, '');
  // and the --proc-root exclusion is not bypassed either
  assert.equal(run(['--netns', 'b', '--proc-root', capture('two-path-a'), 'status'], { SCTPDIAG_NETNS: 'b' }).code, EXIT.USAGE);
});

test('a forged SCTPDIAG_NETNS does not name the output', () => {
  const r = run(['--proc-root', capture('two-path-a'), '--json', 'sysctl'], { SCTPDIAG_NETNS: 'b' });
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { netns: unknown }).netns, null); // was "b"
});

test('currentNetns believes the label only for the namespace this process runs in', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync('/proc/self/ns/net', join(dir, 'here')); // stands in for a bind mount of our own namespace
  writeFileSync(join(dir, 'other'), '');
  assert.equal(currentNetns({ SCTPDIAG_NETNS: 'here' }, dir), 'here');
  assert.equal(currentNetns({ SCTPDIAG_NETNS: 'other' }, dir), null);
  assert.equal(currentNetns({ SCTPDIAG_NETNS: 'missing' }, dir), null);
  assert.equal(currentNetns({ SCTPDIAG_NETNS: '../here' }, dir), null);
  assert.equal(currentNetns({}, dir), null);
  assert.equal(currentNetns({ SCTPDIAG_NETNS: `pid:${process.pid}` }, dir), `pid:${process.pid}`);
  assert.equal(currentNetns({ SCTPDIAG_NETNS: 'pid:0' }, dir), null);
});

test('the hop re-runs node with this script (the single executable re-runs itself: packaging test)', () => {
  const c = netnsCommand({ kind: 'name', name: 'a' }, ['status']);
  assert.deepEqual(c.args.slice(0, 4), ['netns', 'exec', 'a', process.execPath]);
  assert.equal(c.args.at(-2), process.argv[1]);
  assert.deepEqual(stripNetnsArgs(['-n', 'a', '-nb', 'status', '-j']), ['status', '-j']);
});
