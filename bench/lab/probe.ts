/**
 * Runs inside the lab guest (netns a): where does `sctpdiag status --json`
 * spend its time on a real kernel? Prints one JSON object of milliseconds.
 *   readAssocs / readRemaddr   each file alone, node's readFile (as read.ts does)
 *   readBothParallel           both at once (Promise.all, as read.ts does)
 *   parseJoin                  parse the four texts + buildSnapshot
 *   owners                     /proc/PID/fd scan for the socket inodes
 *   serialise                  collectStatus + JSON.stringify
 */
import { readFile } from 'node:fs/promises';
import { findSocketOwners } from '../../src/procfs/owners.js';
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
