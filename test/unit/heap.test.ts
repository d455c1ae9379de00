// heap.ts: a long-running command, started by the executable (whose shebang turns
// V8's baseline compiler off for one-shot commands), gets it back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliNodeFlags } from '../../bench/snapshot.js';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();

function tierAfterWarmUp(callPreferSmallHeap: boolean): string {
  const heap = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'heap.js')).href;
  const code = `
    const { preferSmallHeap } = await import(${JSON.stringify(heap)});
    ${callPreferSmallHeap ? 'preferSmallHeap();' : ''}
    function f(x) { let s = 0; for (let i = 0; i < 50; i++) s += x * i; return s; }
    for (let i = 0; i < 2000; i++) f(i);
    process.stdout.write(String(%ActiveTierIsSparkplug(f)));
  `;
  const r = spawnSync(process.execPath, [...cliNodeFlags(), '--no-opt', '--allow-natives-syntax', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('the shebang runs without the baseline compiler; preferSmallHeap turns it back on', () => {
  assert.ok(cliNodeFlags().includes('--no-sparkplug'), cliNodeFlags().join(' '));
  assert.equal(tierAfterWarmUp(false), 'false', 'one-shot: interpreter only');
  assert.equal(tierAfterWarmUp(true), 'true', 'long-running: baseline code');
});
