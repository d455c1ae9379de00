/**
 * How sctpdiag opens the /proc/net/sctp files whose printing costs the kernel
 * (chunks.ts says why): assocs, the long pole, in ranges read side by side
 * (SplitReader) when it is large; the others in one range.
 *
 * Two ranges, as measured in the lab at 10k associations on 2 vCPUs (assocs
 * 6.9 s in one range, 4.1 s in two, 4.3 s in three; with remaddr read beside
 * it in one range or two: 5.3 s either way, against 8.7 s for `cat` of both).
 * The size is guessed from snmp's count of associations (parse.ts).
 *
 * This module, chunks.ts, timing.ts and argv.ts are all prefetch.ts loads before the reads start;
 * the parser is imported beside the first read, for the guess.
 *
 * And how often a command that keeps running (top, trace, the metrics
 * exporter) may read them: nextReadMs.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { ChunkReader, equalShares, SplitReader, type PieceSource } from './chunks.js';
import { mark } from '../timing.js';

/** the files whose kernel cost matters (eps and snmp are small) */
export const COSTLY = ['assocs', 'remaddr'] as const;

/** ranges for assocs; never more than the CPUs that can print them */
export const ASSOCS_RANGES = 2;
/** ~1,200 associations: below, the whole file costs the kernel ~0.1 s in the lab */
export const SPLIT_MIN_BYTES = 256 * 1024;

/** The file `name` of the /proc/net/sctp directory `dir`, read as its cost asks. */
export function openSctpFile(dir: string, name: string): PieceSource {
  const path = `${dir}/${name}`;
  if (name !== 'assocs') return new ChunkReader(path);
  // the size guess needs snmp and the parser: fetch both while the first page is made
  const ready = Promise.all([import('./parse.js'), readFile(`${dir}/snmp`, 'utf8')]);
  ready.catch(() => {});
  return new SplitReader(path, {
    shares: equalShares(Math.min(ASSOCS_RANGES, availableParallelism())),
    minBytes: SPLIT_MIN_BYTES,
    estimate: async (first) => {
      const [{ estimateAssocsBytes, parseSnmp }, snmp] = await ready;
      const established = parseSnmp(snmp).counters['SctpCurrEstab'];
      return established === undefined ? null : estimateAssocsBytes(first, established);
    },
    onSplit: () => mark('assocsSplit'),
  });
}

/** the share of wall time the kernel may spend printing /proc/net/sctp for a command that keeps reading */
const READ_BUDGET = 0.1;
/** however slow the last read was, the next one is due within this */
const MAX_READ_INTERVAL_MS = 60_000;

/**
 * When the next full read is due after one that took readMs: never sooner than
 * asked (baseMs), and late enough that reading takes at most READ_BUDGET of the
 * time — at 10k associations one read costs the kernel seconds, and a 1 s
 * cadence would keep a core busy. Backs off at once; recovers halfway per read
 * (prevMs: the interval in force), so one fast read after slow ones does not
 * make it oscillate. Reads served from another reader's cache are fast, so
 * their interval stays as asked.
 */
export function nextReadMs(baseMs: number, readMs: number, prevMs?: number): number {
  const want = Math.min(MAX_READ_INTERVAL_MS, Math.max(baseMs, readMs / READ_BUDGET));
  const next = prevMs !== undefined && want < prevMs ? Math.max(want, (prevMs + want) / 2) : want;
  return Math.max(baseMs, Math.round(next / 100) * 100);
}
