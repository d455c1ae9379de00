/**
 * `sctpdiag top` at scale: frame build (applying a full snapshot: rows, sort,
 * filter, selection, layout) and render (blessed, fake terminal of 160×50)
 * at 1k and 10k associations, from synthesised captures (bench/synth.ts:
 * real captured rows repeated with new ids and addresses). CPU is user+system
 * time of this process over the measured loop. The kernel's cost of producing
 * /proc/net/sctp is not here (bench/snapshot.ts measures it in the lab).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { readSnapshot } from '../src/procfs/read.js';
import type { Snapshot } from '../src/model/snapshot.js';
import { TopState } from '../src/top/state.js';
import { TopScreen } from '../src/top/screen.js';
import { synthCapture } from './synth.js';
import { median, round, type BenchResult } from './snapshot.js';

function fakeScreen(cols: number, rows: number): TopScreen {
  const output = Object.assign(new PassThrough(), { columns: cols, rows, isTTY: true });
  output.resume();
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  return new TopScreen({ input, output, terminal: 'xterm-256color' }, () => {}, () => {});
}

/** the next refresh: every RTXC and RTO moved, so nothing can be reused */
function moved(s: Snapshot, k: number): Snapshot {
  return {
    ...s,
    associations: s.associations.map((a) => ({
      ...a,
      retransmittedChunks: a.retransmittedChunks + k,
      paths: a.paths.map((p) => ({ ...p, rtoMs: p.rtoMs + k })),
    })),
  };
}

export async function benchTop(opts: { smoke: boolean }): Promise<BenchResult> {
  const sizes = opts.smoke ? [1000] : [1000, 10000];
  const reps = opts.smoke ? 3 : 10;
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-bench-top-'));
    try {
      synthCapture(dir, n);
      const t0 = performance.now();
      const snap = await readSnapshot({ procRoot: dir, netns: null });
      metrics[`parse_ms_${n}`] = round(performance.now() - t0);
      const state = new TopState({ host: 'bench', baseIntervalMs: 1000, replay: null });
      const screen = fakeScreen(160, 50);
      state.resize(screen.width, screen.height);
      state.applySnapshot(snap, { atMs: 0, readMs: 1 });
      screen.draw(state.frame());
      const build: number[] = [];
      const render: number[] = [];
      const keys: number[] = [];
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      for (let i = 1; i <= reps; i++) {
        const next = moved(snap, i);
        const a = performance.now();
        state.applySnapshot(next, { atMs: i * 1000, readMs: 1 });
        const f = state.frame();
        const b = performance.now();
        screen.draw(f);
        const c = performance.now();
        // a key press between refreshes: re-sort by the next column and move down
        state.key('s', 's');
        state.key('down');
        screen.draw(state.frame());
        const d = performance.now();
        build.push(b - a);
        render.push(c - b);
        keys.push(d - c);
      }
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - wall0;
      screen.destroy();
      metrics[`frame_build_ms_${n}`] = round(median(build));
      metrics[`render_ms_${n}`] = round(median(render));
      metrics[`key_sort_render_ms_${n}`] = round(median(keys));
      metrics[`cpu_ms_per_refresh_${n}`] = round((cpu.user + cpu.system) / 1000 / reps);
      metrics[`cpu_share_at_1hz_pct_${n}`] = round(((cpu.user + cpu.system) / 1000 / reps / 1000) * 100);
      metrics[`heap_mb_${n}`] = round(process.memoryUsage().heapUsed / 1e6);
      notes.push(`${n}: ${reps} refreshes in ${round(wall)} ms wall (median per refresh shown)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { name: 'top', metrics, notes };
}

// `node dist/bench/top.js [--smoke]`
if (process.argv[1]?.endsWith('/bench/top.js')) {
  benchTop({ smoke: process.argv.includes('--smoke') }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
