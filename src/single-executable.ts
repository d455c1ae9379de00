/**
 * The single executable's entry (packaging/sea.mjs bundles it): Node runs one
 * CommonJS script there, which cannot hold cli.ts's top-level await. Same
 * program, same exit path (program.ts main()).
 */
import { main } from './program.js';

// `sctpdiag status | head`: stop quietly as a tool killed by SIGPIPE would (cli.ts does the same)
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  else process.exit(0);
});
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
