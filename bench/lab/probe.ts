/**
 * Runs inside the lab guest (netns a): where does `sctpdiag status --json`
 * spend its time on a real kernel? Prints one JSON object of milliseconds.
 *   readAssocs / readRemaddr   each file alone, one range, as procfs/sctpfile.ts reads it
 *   …TwoRanges                 the same file as two byte ranges side by side (what status does when it is large)
 *   readSnapshot               what status does (procfs/read.ts), owners included
 *   at_<step>                  readSnapshot's timeline: ms at the end of each step
 *   parseJoin                  CPU cost of parse + buildSnapshot on texts in memory (median of 3)
 *   owners                     /proc/PID/fd scan for the socket inodes, alone
 *   serialise                  collectStatus + JSON.stringify
 */
import { findSocketOwnersSync } from '../../src/procfs/owners.js';
import { guessBytes, readSnapshot } from '../../src/procfs/read.js';
import { readSctpFile } from '../../src/procfs/sctpfile.js';
import { assocsParser, parseSnmp, remaddrParser } from '../../src/procfs/parse.js';
import { readFileSync } from 'node:fs';
import { collectStatus } from '../../src/commands/status.js';
import { parseJoin } from '../snapshot.js';

const P = '/proc/net/sctp/';
const ms = (t0: bigint) => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;

async function main(): Promise<void> {
  const out: Record<string, number> = {};
  let t = process.hrtime.bigint();
  const a1 = await readSctpFile(P + 'assocs', assocsParser(), { sync: true, keepText: true });
  out.readAssocs = ms(t);
  const established = parseSnmp(readFileSync(P + 'snmp', 'utf8')).counters['SctpCurrEstab'];
  t = process.hrtime.bigint();
  const a2 = await readSctpFile(P + 'assocs', assocsParser(), { sync: true, guessSize: (page) => guessBytes(page, established) });
  out.readAssocsTwoRanges = ms(t);
  out.assocsRanges = a2.ranges;
  const paths = a1.result.rows.reduce((n, r) => n + r.raddrs.length, 0);
  t = process.hrtime.bigint();
  const r1 = await readSctpFile(P + 'remaddr', remaddrParser(), { keepText: true });
  out.readRemaddr = ms(t);
  t = process.hrtime.bigint();
  const r2 = await readSctpFile(P + 'remaddr', remaddrParser(), { guessSize: (page) => guessBytes(page, paths) });
  out.readRemaddrTwoRanges = ms(t);
  out.remaddrRanges = r2.ranges;
  t = process.hrtime.bigint();
  const marks: Record<string, number> = {};
  await readSnapshot({ procRoot: '/proc', netns: null, marks });
  out.readSnapshot = ms(t);
  const started = Math.round(performance.now() - out.readSnapshot);
  for (const [k, v] of Object.entries(marks)) out[`at_${k}`] = v - started;
  const texts = { assocs: a1.text!, remaddr: r1.text!, eps: readFileSync(P + 'eps', 'utf8'), snmp: readFileSync(P + 'snmp', 'utf8') };
  t = process.hrtime.bigint();
  let snap = parseJoin(texts);
  const pj = [ms(t)];
  for (let i = 0; i < 2; i++) {
    t = process.hrtime.bigint();
    snap = parseJoin(texts);
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
  out.assocsBytes = texts.assocs.length;
  out.remaddrBytes = texts.remaddr.length;
  process.stdout.write(JSON.stringify(out) + '\n');
}

void main();
