/**
 * Start of the single executable: `sctpdiag --version` (dist-pkg/, `npm run dist`) against
 * `node -e 0` of the Node it embeds, median of interleaved runs (target ≤ 1.5×).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/package-files.js';

const ROOT = packageRoot();

function ms(file: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: 'ignore', env: {} });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function benchStart(o: { smoke: boolean }): Promise<{ name: string; metrics: Record<string, number>; notes: string[] }> {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const exe = join(ROOT, 'dist-pkg', `sctpdiag-${version}-linux-x64`);
  const node = join(ROOT, 'dist-pkg', 'build', `node-${(JSON.parse(readFileSync(join(ROOT, 'packaging/node.json'), 'utf8')) as { version: string }).version}-stripped`);
  if (!existsSync(exe) || !existsSync(node)) throw new Error('run `npm run dist` first (dist-pkg/ has no executable)');
  const n = o.smoke ? 5 : 31;
  const a: number[] = [];
  const b: number[] = [];
  ms(exe, ['--version']); // page cache
  for (let i = 0; i < n; i++) {
    a.push(ms(exe, ['--version']));
    b.push(ms(node, ['-e', '0']));
  }
  const exeMs = median(a);
  const nodeMs = median(b);
  return {
    name: 'start (single executable)',
    metrics: { versionStartMs: exeMs, nodeStartMs: nodeMs, startRatioVsNode: exeMs / nodeMs },
    notes: [`start: sctpdiag --version ${exeMs.toFixed(1)} ms vs node -e 0 ${nodeMs.toFixed(1)} ms (median of ${n}, same embedded Node)`],
  };
}
