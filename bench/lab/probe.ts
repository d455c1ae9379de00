/**
 * Runs inside the lab guest (netns a): where does `sctpdiag status --json`
 * spend its time on a real kernel? Prints one JSON object of milliseconds.
 *   readAssocs / readRemaddr   each file alone, node's readFile
 *   readBothParallel           both at once, nothing else to do
 *   readSnapshot               what status does (procfs/read.ts), owners included
 *   exposed                    readSnapshot − readBothParallel: our own work not hidden by the kernel's
 *   at_<step>                  readSnapshot's timeline: ms at the end of each step
 *   readSnapshotNoOwners       the same without the owner scan
 *   parseJoin                  CPU cost of parse + buildSnapshot on texts in memory (median of 3)
 *   owners                     /proc/PID/fd scan for the socket inodes, alone
 *   serialise                  collectStatus + JSON.stringify
 */
import { readFile } from 'node:fs/promises';
import { findSocketOwnersSync } from '../../src/procfs/owners.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { collectStatus } from '../../src/commands/status.js';
import { parseJoin } from '../snapshot.js';

const P = '/proc/net/sctp/';
const ms = (t0: bigint) => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;

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
  const eps = await readFile(P + 'eps', 'utf8');
  const snmp = await readFile(P + 'snmp', 'utf8');
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
