/**
 * Start the kernel on /proc/net/sctp before the rest of sctpdiag has loaded.
 *
 * The entry point (cli.ts) calls `prefetchFor(argv)` before it imports the
 * command line: for a plain `sctpdiag status …` in this namespace the costly
 * files start being read at once, and readSnapshot() takes them over
 * (`takePrefetched`). In the lab at 10k associations loading our modules takes
 * ~0.8 s of a 1.1 s start, all of which the kernel can spend printing.
 * Anything unusual (another namespace, a capture, help) reads nothing early;
 * the guess costs at most one page when wrong, because the exit path cancels
 * what nobody took.
 *
 * This module imports nothing of ours but costly.ts, chunks.ts, timing.ts and
 * argv.ts, so it loads in no time.
 */
import type { PieceSource } from './chunks.js';
import { COSTLY, openSctpFile } from './costly.js';
import { FLAG_GLOBALS, VALUED_GLOBALS } from '../argv.js';

const PROC_SCTP = '/proc/net/sctp';

const early = new Map<string, PieceSource>();

/** anywhere on the line, these mean: read nothing early (of the global options, all that take a value but --hz) */
const NOT_HERE = new Set(['-n', '--netns', '--netns-pid', '--proc-root', '--all-netns', '-h', '--help', '-V', '--version', 'help']);

/** Whether argv is `[global options] status …` run against this host's /proc. */
export function wantsPrefetch(argv: readonly string[]): boolean {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (FLAG_GLOBALS.has(a) || a.startsWith('--hz=')) continue;
    if (VALUED_GLOBALS.has(a)) {
      i++;
      continue;
    }
    break;
  }
  if (argv[i] !== 'status') return false;
  return !argv.some((a) => NOT_HERE.has(a.split('=')[0]!));
}

export function prefetchFor(argv: readonly string[]): void {
  if (!wantsPrefetch(argv)) return;
  for (const f of COSTLY) early.set(`${PROC_SCTP}/${f}`, openSctpFile(PROC_SCTP, f));
}

/** The early reader of `path`, once: later snapshots read afresh. */
export function takePrefetched(path: string): PieceSource | undefined {
  const r = early.get(path);
  early.delete(path);
  return r;
}

/** Stop what nobody took (called on the way out). */
export function cancelPrefetch(): void {
  for (const r of early.values()) r.cancel();
  early.clear();
}
