/**
 * Start of the single executable: `sctpdiag --version` (dist-pkg/, `npm run dist`) against
 * `node -e 0` of the Node it embeds, median of interleaved runs (target ≤ 1.5×); and, for the
 * record, whole one-shot commands from the bare executable (a capture, a profile, one exposition).
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
  const cap = join(ROOT, 'test/fixtures/captures/two-path-a');
  const runs = {
    node: [node, ['-e', '0']],
    version: [exe, ['--version']],
    status: [exe, ['--proc-root', cap, 'status']],
    tuneShow: [exe, ['tune', '--show', 'telecom']],
    metricsOnce: [exe, ['--proc-root', cap, 'metrics', '--once']],
  } satisfies Record<string, [string, string[]]>;
  type Run = keyof typeof runs;
  const times = Object.fromEntries(Object.keys(runs).map((k) => [k, [] as number[]])) as Record<Run, number[]>;
  for (const [f, a] of Object.values(runs)) ms(f, a); // page cache
  for (let i = 0; i < n; i++) for (const [k, [f, a]] of Object.entries(runs)) times[k as Run].push(ms(f, a));
  const t = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)])) as Record<Run, number>;
  return {
    name: 'start (single executable)',
    metrics: {
      versionStartMs: t.version,
      nodeStartMs: t.node,
      startRatioVsNode: t.version / t.node,
      statusCaptureMs: t.status,
      tuneShowMs: t.tuneShow,
      metricsOnceMs: t.metricsOnce,
    },
    notes: [
      `start: sctpdiag --version ${t.version.toFixed(1)} ms vs node -e 0 ${t.node.toFixed(1)} ms (median of ${n}, same embedded Node); ` +
        `status of a capture ${t.status.toFixed(1)} ms, tune --show ${t.tuneShow.toFixed(1)} ms, metrics --once ${t.metricsOnce.toFixed(1)} ms`,
    ],
  };
}
