#!/usr/bin/env node
/** The sctpdiag executable: loads the command line (program.ts) and runs it. */
import { mark, printTiming } from './timing.js';

mark('cli');
// `sctpdiag status | head`: the reader went away. Stop quietly, as a tool
// killed by SIGPIPE would; a command that keeps running gets its SIGTERM shutdown.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  else process.exit(0);
});
try {
  const { main } = await import('./program.js');
  mark('loaded');
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // main() has its own handler; this is only reached if loading it failed
  process.stderr.write(`sctpdiag: ${String(e)}\n`);
  process.exitCode = 1;
} finally {
  mark('done');
  printTiming();
}
