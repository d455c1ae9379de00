#!/usr/bin/env -S node --max-semi-space-size=2 --no-sparkplug --max-lazy
/**
 * The sctpdiag executable. It starts the kernel on /proc/net/sctp for a plain
 * `status` first (procfs/prefetch.ts: the kernel's printing is the cost of a
 * snapshot, so it should not wait for our modules to load), then loads the
 * command line (program.ts) and runs it. On the way out, early reads that no
 * command took are cancelled.
 *
 * The shebang's V8 flags are for a one-shot command such as `status`:
 * - small young-generation semi-spaces (2 MB): at 10k associations
 *   `status --json` peaks at ~90 MB instead of ~125 MB (host bench), no slower;
 * - no baseline compiler (Sparkplug) and no eager compilation hints: a process
 *   that lives a few seconds does not earn back the compiling. In the lab
 *   (8k associations, three paired runs) `status --json` took 2-9% less time
 *   (5,009 vs 5,118 ms; 4,960 vs 5,166; 4,771 vs 5,261); on the host the same.
 * Long-running commands set their own policy when they start (heap.ts).
 */
import { cancelPrefetch, prefetchFor } from './procfs/prefetch.js';
import { mark, printTiming } from './timing.js';

mark('cli');
const argv = process.argv.slice(2);
prefetchFor(argv);

// `sctpdiag status | head`: the reader went away. Stop quietly, as a tool
// killed by SIGPIPE would, instead of dying on an unhandled EPIPE; a command
// that keeps running (trace, metrics) gets its normal SIGTERM shutdown.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  else process.exit(0);
});
try {
  const { main } = await import('./program.js');
  mark('loaded');
  process.exitCode = await main(argv);
} catch (e) {
  // main() has its own handler; this is only reached if loading it failed
  process.stderr.write(`sctpdiag: ${String(e)}\n`);
  process.exitCode = 1;
} finally {
  cancelPrefetch();
  mark('done');
  printTiming();
}
