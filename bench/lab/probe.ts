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
 *   parseJoin                  CPU cost of parse + buildSnapshot on texts in memory
 *   owners                     /proc/PID/fd scan for the socket inodes, alone
 *   serialise                  collectStatus + JSON.stringify
 */
import { readFile } from 'node:fs/promises';
import { findSocketOwners } from '../../src/procfs/owners.js';
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
  await readSnapshot({ procRoot: '/proc', netns: null });
  out.readSnapshot = ms(t);
  out.exposed = Math.round((out.readSnapshot - out.readBothParallel) * 10) / 10;
  const eps = await readFile(P + 'eps', 'utf8');
  const snmp = await readFile(P + 'snmp', 'utf8');
  t = process.hrtime.bigint();
  const snap = parseJoin({ assocs, remaddr, eps, snmp });
  out.parseJoin = ms(t);
  t = process.hrtime.bigint();
  const inodes = new Set(snap.associations.map((a) => a.inode));
  await findSocketOwners('/proc', inodes);
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
