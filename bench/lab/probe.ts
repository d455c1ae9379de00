/**
 * Runs inside the lab guest (netns a): where does `sctpdiag status --json`
 * spend its time on a real kernel? Prints one JSON object of milliseconds.
 *   readAssocs / readRemaddr   each file alone, node's readFile (as read.ts does)
 *   readBothParallel           both at once, nothing else to do
 *   readSnapshot               what status does: the four files read side by side
 *                              and parsed page by page, the owner scan in slices
 *                              between pages, HZ, buildSnapshot (procfs/read.ts)
 *   exposed                    readSnapshot − readBothParallel: how much of our
 *                              own work did NOT hide behind the kernel's
 *   at_<step>                  readSnapshot's timeline: ms at the end of each step
 *   readSnapshotNoOwners       the same without the owner scan
 *   chunkAssocs(Parsed)        assocs through the page reader alone (and parsed)
 *   syncAssocs(Parsed)         the same with readSync on the main thread
 *   splitAssocs(Parsed)        assocs as status opens it (costly.ts): in ranges
 *                              side by side when large; splitRanges says how many
 *   splitBoth{Sync,Async}[Parsed]  assocs so and remaddr beside it, the first
 *                              range of assocs read here (Sync) or on the pool
 *   share<S>Owners{After,Beside]  both files parsed, assocs' first range S% of
 *                              the kernel cost, the owner scan after or beside
 *   parseJoin                  CPU cost of parse + buildSnapshot on texts in memory
 *                              (median of 3: one run moved by ±15% between lab runs)
 *   owners                     /proc/PID/fd scan for the socket inodes, alone
 *   serialise                  collectStatus + JSON.stringify
 */
import { readFile } from 'node:fs/promises';
import { findSocketOwnersSliced, findSocketOwnersSync } from '../../src/procfs/owners.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { ChunkReader, SplitReader, splitPoints } from '../../src/procfs/chunks.js';
import { openSctpFile } from '../../src/procfs/costly.js';
import { assocsParser, LineFeed } from '../../src/procfs/parse.js';
import { collectStatus } from '../../src/commands/status.js';
import { parseJoin } from '../snapshot.js';

const P = '/proc/net/sctp/';
const ms = (t0: bigint) => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;

/** burn the main thread in ~2 ms slices until `done` settles; returns ms burnt */
async function burnUntil(done: Promise<unknown>): Promise<number> {
  let over = false;
  void done.then(() => (over = true));
  let burnt = 0;
  while (!over) {
    const t0 = performance.now();
    while (performance.now() - t0 < 2);
    burnt += performance.now() - t0;
    await new Promise<void>((r) => setImmediate(r));
  }
  return Math.round(burnt);
}

/**
 * Does JavaScript on the main thread run beside the kernel printing assocs
 * (two vCPUs), or take turns with it? (BENCH_QUICK lab runs only.)
 */
async function contention(out: Record<string, number>): Promise<void> {
  let t = process.hrtime.bigint();
  await new ChunkReader(P + 'assocs').attach(() => {});
  out.cAlone = ms(t);
  t = process.hrtime.bigint();
  const r = new ChunkReader(P + 'assocs').attach(() => {});
  out.cBurnt = await burnUntil(r);
  out.cWithMainBusy = ms(t);
  const { spawn } = await import('node:child_process');
  const hog = spawn(process.execPath, ['-e', 'const e = Date.now() + 60000; while (Date.now() < e);'], { stdio: 'ignore' });
  await new Promise((res) => setTimeout(res, 300));
  t = process.hrtime.bigint();
  await new ChunkReader(P + 'assocs').attach(() => {});
  out.cWithOtherProcessBusy = ms(t);
  hog.kill('SIGKILL');
}

async function main(): Promise<void> {
  const out: Record<string, number> = {};
  let t = process.hrtime.bigint();
  const assocs = await readFile(P + 'assocs', 'utf8');
  out.readAssocs = ms(t);
  t = process.hrtime.bigint();
  const remaddr = await readFile(P + 'remaddr', 'utf8');
  out.readRemaddr = ms(t);
  t = process.hrtime.bigint();
  await Promise.all([readFile(P + 'assocs', 'utf8'), readFile(P + 'remaddr', 'utf8')]);
  out.readBothParallel = ms(t);
  t = process.hrtime.bigint();
  const marks: Record<string, number> = {};
  await readSnapshot({ procRoot: '/proc', netns: null, marks });
  out.readSnapshot = ms(t);
  const started = Math.round(performance.now() - out.readSnapshot);
  for (const [k, v] of Object.entries(marks)) out[`at_${k}`] = v - started;
  out.exposed = Math.round((out.readSnapshot - out.readBothParallel) * 10) / 10;
  t = process.hrtime.bigint();
  await readSnapshot({ procRoot: '/proc', netns: null, owners: false });
  out.readSnapshotNoOwners = ms(t);
  // the page-by-page reader alone, then with the assocs parser on each page
  t = process.hrtime.bigint();
  await new ChunkReader(P + 'assocs').attach(() => {});
  out.chunkAssocs = ms(t);
  t = process.hrtime.bigint();
  const feed = new LineFeed(assocsParser().line);
  await new ChunkReader(P + 'assocs').attach((x) => feed.push(x));
  out.chunkAssocsParsed = ms(t);
  // the same with read(2) on the main thread: no thread-pool round trip per page
  const { openSync, readSync, closeSync } = await import('node:fs');
  const syncRead = (sink: (s: string) => void) => {
    const fd = openSync(P + 'assocs', 'r');
    const buf = Buffer.allocUnsafe(65536);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) sink(buf.toString('latin1', 0, n));
    closeSync(fd);
  };
  t = process.hrtime.bigint();
  syncRead(() => {});
  out.syncAssocs = ms(t);
  t = process.hrtime.bigint();
  const feed2 = new LineFeed(assocsParser().line);
  syncRead((x) => feed2.push(x));
  out.syncAssocsParsed = ms(t);
  // as readSnapshot opens it: ranges side by side, the first on this thread
  t = process.hrtime.bigint();
  const split = openSctpFile('/proc/net/sctp', 'assocs');
  await split.attach(() => {}, { sync: true });
  out.splitAssocs = ms(t);
  out.splitRanges = split instanceof SplitReader ? split.rangeCount : 1;
  t = process.hrtime.bigint();
  const feed3 = new LineFeed(assocsParser().line);
  await openSctpFile('/proc/net/sctp', 'assocs').attach((x) => feed3.push(x), { sync: true });
  out.splitAssocsParsed = ms(t);
  const { remaddrParser } = await import('../../src/procfs/parse.js');
  for (const sync of [true, false])
    for (const parsed of [false, true]) {
      const fa = parsed ? new LineFeed(assocsParser().line) : null;
      const fr = parsed ? new LineFeed(remaddrParser().line) : null;
      t = process.hrtime.bigint();
      await Promise.all([
        openSctpFile('/proc/net/sctp', 'assocs').attach((x) => fa?.push(x), { sync }),
        openSctpFile('/proc/net/sctp', 'remaddr').attach((x) => fr?.push(x)),
      ]);
      out[`splitBoth${sync ? 'Sync' : 'Async'}${parsed ? 'Parsed' : ''}`] = ms(t);
    }
  const { estimateAssocsBytes } = await import('../../src/procfs/parse.js');
  const est = estimateAssocsBytes(assocs, assocs.split('\n').length - 2);
  void splitPoints;
  for (const share of [50, 40, 30])
    for (const beside of [false, true]) {
      const fa = new LineFeed(assocsParser().line);
      const fr = new LineFeed(remaddrParser().line);
      t = process.hrtime.bigint();
      const files = Promise.all([
        new SplitReader(P + 'assocs', { shares: [share / 100, 1 - share / 100], minBytes: 0, estimate: async () => est }).attach((x) => fa.push(x), { sync: true }),
        openSctpFile('/proc/net/sctp', 'remaddr').attach((x) => fr.push(x)),
      ]);
      const owners = beside ? findSocketOwnersSliced('/proc', 'all') : files.then(() => findSocketOwnersSliced('/proc', 'all'));
      await Promise.all([files, owners]);
      out[`share${share}Owners${beside ? 'Beside' : 'After'}`] = ms(t);
    }
  const eps = await readFile(P + 'eps', 'utf8');
  const snmp = await readFile(P + 'snmp', 'utf8');
  if (process.env.PROBE_CONTENTION) await contention(out);
  t = process.hrtime.bigint();
  let snap = parseJoin({ assocs, remaddr, eps, snmp });
  const pj = [ms(t)];
  for (let i = 0; i < 2; i++) {
    t = process.hrtime.bigint();
    snap = parseJoin({ assocs, remaddr, eps, snmp });
    pj.push(ms(t));
  }
  out.parseJoin = pj.sort((a, b) => a - b)[1]!;
  t = process.hrtime.bigint();
  const inodes = new Set(snap.associations.map((a) => a.inode));
  findSocketOwnersSync('/proc', inodes);
  out.owners = ms(t);
  t = process.hrtime.bigint();
  JSON.stringify(collectStatus(snap, {}, 'lab'));
  out.serialise = ms(t);
  out.rows = snap.associations.length;
  out.assocsBytes = assocs.length;
  out.remaddrBytes = remaddr.length;
  process.stdout.write(JSON.stringify(out) + '\n');
}

void main();
