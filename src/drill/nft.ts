/**
 * The cut, as nftables: one table of our own, two chains (input, output) that
 * drop SCTP packets whose (saddr, sport, daddr, dport) is in a set whose
 * elements carry a timeout — the kernel ends the cut by itself even if
 * sctpdiag is killed. Built only from validated values (addresses from procfs,
 * numbers); nft is run with argv arrays and the ruleset on stdin, never a shell.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv4, normaliseUserAddress } from '../model/addr.js';
import { EXIT, SctpdiagError } from '../errors.js';

export const NFT_TABLE = 'sctpdiag_drill';
export const NFT_FAMILY = 'inet';

export interface CutSpec {
  localAddresses: readonly string[];
  localPort: number;
  peerAddress: string;
  peerPort: number;
  forMs: number;
}

function checkAddr(a: string): string {
  const n = normaliseUserAddress(a);
  if (n === null || n !== a) throw new Error(`nft: refusing address ${JSON.stringify(a)}`);
  return n;
}
function checkInt(n: number, lo: number, hi: number, what: string): number {
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`nft: refusing ${what} ${n}`);
  return n;
}

export interface Cut {
  /** applied first (`nft -f`): our table with an empty set (drops nothing yet), replacing a killed drill's */
  setup: string;
  /** then one line to `nft --echo -i`: the set elements, each with the timeout that ends the cut */
  start: string;
}

/** The cut in two steps, so that the second, which starts it, is one quick command whose moment is known. */
export function buildCut(c: CutSpec): Cut {
  const peer = checkAddr(c.peerAddress);
  const v4 = isIPv4(peer);
  const locals = c.localAddresses.map(checkAddr).filter((a) => isIPv4(a) === v4);
  if (locals.length === 0) throw new Error('nft: no local address of the peer address family');
  const lport = checkInt(c.localPort, 1, 65535, 'local port');
  const pport = checkInt(c.peerPort, 1, 65535, 'peer port');
  const ms = checkInt(c.forMs, 1, 3_600_000, 'timeout');
  const ip = v4 ? 'ip' : 'ip6';
  const type = v4 ? 'ipv4_addr' : 'ipv6_addr';
  const elems: string[] = [];
  for (const l of locals) {
    elems.push(`${l} . ${lport} . ${peer} . ${pport} timeout ${ms}ms`);
    elems.push(`${peer} . ${pport} . ${l} . ${lport} timeout ${ms}ms`);
  }
  const rule = `${ip} saddr . sctp sport . ${ip} daddr . sctp dport @cut counter drop`;
  const setup = [
    `table ${NFT_FAMILY} ${NFT_TABLE}`,
    `delete table ${NFT_FAMILY} ${NFT_TABLE}`,
    `table ${NFT_FAMILY} ${NFT_TABLE} {`,
    `\tset cut {`,
    `\t\ttype ${type} . inet_service . ${type} . inet_service`,
    `\t\tflags timeout`,
    `\t}`,
    `\tchain input {`,
    `\t\ttype filter hook input priority -10; policy accept;`,
    `\t\t${rule}`,
    `\t}`,
    `\tchain output {`,
    `\t\ttype filter hook output priority -10; policy accept;`,
    `\t\t${rule}`,
    `\t}`,
    `}`,
    '',
  ].join('\n');
  return { setup, start: `add element ${NFT_FAMILY} ${NFT_TABLE} cut { ${elems.join(', ')} }\n` };
}

/** Both steps as one text, as the dry run shows them. */
export function buildRuleset(c: CutSpec): string {
  const cut = buildCut(c);
  return cut.setup + cut.start;
}

export const DELETE_ARGV = ['delete', 'table', NFT_FAMILY, NFT_TABLE] as const;

/** the nft binary: SCTPDIAG_NFT (tests), else `nft` from PATH */
export function nftPath(env = process.env): string {
  return env.SCTPDIAG_NFT || 'nft';
}

export interface NftResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runNft(args: readonly string[]): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath(), [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // bounded in total, not per chunk: nft's output is kept for messages only
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.slice(0, Math.max(0, (1 << 20) - stdout.length))));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, Math.max(0, (1 << 16) - stderr.length))));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(nftMissing());
      else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end();
  });
}

/**
 * Apply a ruleset in one transaction (`nft -f FILE`). Through a private file,
 * not `-f -`: nft before 1.0 opens /dev/stdin, which fails on the socket
 * Node gives a child as its stdin.
 */
export async function applyRuleset(text: string): Promise<NftResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sctpdiag-drill-'));
  try {
    const file = join(dir, 'cut.nft');
    await writeFile(file, text, { flag: 'wx', mode: 0o600 });
    return await runNft(['-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function nftMissing(): SctpdiagError {
  return new SctpdiagError('nft (nftables) is not installed or not in PATH: the drill cuts the path with it', EXIT.NO_NFT, 'install the nftables package');
}

/** Is nft runnable? (checked before anything else, so a dry run says it too) */
export function nftAvailable(): boolean {
  const r = spawnSync(nftPath(), ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Remove our table, synchronously (exit and signal handlers cannot wait). true if it is gone. */
export function deleteTableSync(): boolean {
  const r = spawnSync(nftPath(), [...DELETE_ARGV], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return true;
  // already gone (e.g. deleted by a concurrent cleanup) counts as gone
  return /No such file or directory/.test(r.stderr ?? '');
}
