/**
 * I/O for the field checks (field.ts): modprobe.d, /lib/modules, rp_filter,
 * /proc/net/protocols, IPVS, conntrack sysctls, `nft -j list ruleset` and
 * iptables-save. Files are read through safefs (regular files, no symlink,
 * size-capped); commands through the doctor's Runner (argv, bounded time and
 * output). Every location sits under procRoot or fsRoot, so tests use trees.
 */
import { readdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { readRegularFileOrNull, UnsafeFileError } from '../safefs.js';
import type { GatherOptions, Runner } from './gather.js';
import {
  findSctpModule,
  iptablesIsNft,
  parseCmdlineBlacklist,
  parseIpvsServices,
  parseIptablesNat,
  parseModprobeConf,
  parseNftNat,
  parseOsRelease,
  parseProtocols,
  parseTriple,
  type FieldFacts,
  type NatRule,
  type RpFilterFacts,
} from './field.js';

const SMALL = 64 * 1024;
/** modules.dep of a distribution kernel is ~0.5 MB */
const MODULES_DEP_MAX = 8 * 1024 * 1024;
const MAX_CONF_FILES = 512;
/** modprobe.d(5): a file in an earlier directory hides one of the same name in a later one */
const MODPROBE_DIRS = ['etc/modprobe.d', 'run/modprobe.d', 'usr/lib/modprobe.d', 'lib/modprobe.d'];

/** A small file's text, or null when it is missing or unsafe (a symlink, a FIFO, too large). */
const read = (path: string, max = SMALL): Promise<string | null> => readRegularFileOrNull(path, max).catch(() => null);

async function gatherModules(fsRoot: string, procRoot: string): Promise<NonNullable<FieldFacts['modules']>> {
  const seen = new Set<string>();
  const blocks: NonNullable<FieldFacts['modules']>['blocks'] = [];
  const skipped: string[] = [];
  for (const dir of MODPROBE_DIRS) {
    const names = await readdir(join(fsRoot, dir)).catch((): string[] => []);
    for (const name of names.filter((n) => n.endsWith('.conf')).sort().slice(0, MAX_CONF_FILES)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const shown = '/' + join(dir, name);
      try {
        const text = await readRegularFileOrNull(join(fsRoot, dir, name), SMALL);
        if (text !== null) blocks.push(...parseModprobeConf(shown, text));
      } catch (e) {
        if (!(e instanceof UnsafeFileError)) skipped.push(`${shown}: unreadable`);
        else skipped.push(`${shown}: ${e.reason === 'symlink' ? 'a symbolic link, not read' : e.message}`);
      }
    }
  }
  const os = parseOsRelease((await read(join(fsRoot, 'etc/os-release'))) ?? (await read(join(fsRoot, 'usr/lib/os-release'))) ?? '');
  const release = ((await read(join(procRoot, 'sys/kernel/osrelease'))) ?? '').trim() || null;
  let installed: string[] | null = null;
  if (release && /^[\w.+~-]+$/.test(release)) {
    const base = join(fsRoot, 'lib/modules', release);
    const dep = await read(join(base, 'modules.dep'), MODULES_DEP_MAX);
    const builtin = await read(join(base, 'modules.builtin'), MODULES_DEP_MAX);
    if (dep !== null || builtin !== null) installed = [...findSctpModule(dep ?? ''), ...findSctpModule(builtin ?? '')];
  }
  const cmdline = await read(join(procRoot, 'cmdline'));
  return { blocks, cmdline: cmdline ? parseCmdlineBlacklist(cmdline) : null, osId: os.id, osLike: os.like, kernelRelease: release, installed, skipped };
}

const IFNAME = /^[\w.:@-]{1,15}$/;

async function gatherRpFilter(procRoot: string, ifAddrs: Record<string, string[]>): Promise<RpFilterFacts> {
  const num = async (p: string): Promise<number> => {
    const v = Number(((await read(p)) ?? '').trim());
    return Number.isInteger(v) ? v : 0;
  };
  const all = await num(join(procRoot, 'sys/net/ipv4/conf/all/rp_filter'));
  const effective: RpFilterFacts['effective'] = {};
  for (const dev of Object.keys(ifAddrs).filter((d) => IFNAME.test(d) && d !== 'all' && d !== 'default'))
    effective[dev] = { all, iface: await num(join(procRoot, 'sys/net/ipv4/conf', dev, 'rp_filter')) };
  return { effective, ifAddrs };
}

/** IPv4 addresses (CIDR) per interface of this netns. */
function interfaceAddrs(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [dev, list] of Object.entries(networkInterfaces())) out[dev] = (list ?? []).filter((a) => a.family === 'IPv4' && a.cidr).map((a) => a.cidr!);
  return out;
}

async function gatherNat(run: Runner): Promise<{ rules: NatRule[]; unavailable: string[] }> {
  const rules: NatRule[] = [];
  const unavailable: string[] = [];
  const nft = await run('nft', ['-j', 'list', 'ruleset'], 5000);
  let nftOk = false;
  if (nft.error === 'ENOENT') unavailable.push('nft: not installed');
  else if (nft.error) unavailable.push(`nft -j list ruleset: ${nft.error === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? 'output over 1 MiB, not parsed' : nft.error}`);
  else if (nft.code !== 0) unavailable.push(`nft -j list ruleset exited ${nft.code}: ${nft.stderr.trim().split('\n')[0] ?? ''}`);
  else
    try {
      rules.push(...parseNftNat(nft.stdout));
      nftOk = true;
    } catch (e) {
      unavailable.push(`nft -j list ruleset: ${(e as Error).message}`);
    }
  const ipt = await run('iptables-save', ['-t', 'nat'], 5000);
  if (!ipt.error && ipt.code === 0 && !(nftOk && iptablesIsNft(ipt.stdout))) rules.push(...parseIptablesNat(ipt.stdout));
  return { rules, unavailable };
}

/** fsRoot null: no module files read; live false (a capture): no rp_filter, IPVS, conntrack or NAT of this host. */
export async function gatherField(
  o: Pick<GatherOptions, 'procRoot' | 'ifAddrs'> & { fsRoot: string | null; live: boolean; run: Runner },
): Promise<FieldFacts> {
  const p = (rel: string): string => join(o.procRoot, rel);
  const protocols = parseProtocols((await read(p('net/protocols'))) ?? '');
  const sctpMem = { limits: parseTriple(await read(p('sys/net/sctp/sctp_mem'))), usedPages: protocols?.usedPages ?? null, pressure: protocols?.pressure ?? null };
  const modules = o.fsRoot !== null ? await gatherModules(o.fsRoot, o.procRoot) : null;
  if (!o.live) return { modules, rpFilter: null, sctpMem, ipvs: null, conntrack: null, nat: null };
  const ipvsText = await read(p('net/ip_vs'), 1 << 20);
  const sloppy = await read(p('sys/net/ipv4/vs/sloppy_sctp'));
  const netfilter = await readdir(p('sys/net/netfilter')).catch((): string[] => []); // none: no conntrack in this netns
  const sctpSysctls = netfilter.filter((n) => n.startsWith('nf_conntrack_sctp')).sort();
  const ctLoaded = sctpSysctls.length > 0 || (await read(p('sys/net/netfilter/nf_conntrack_max'))) !== null;
  return {
    modules,
    rpFilter: await gatherRpFilter(o.procRoot, (o.ifAddrs ?? interfaceAddrs)()),
    sctpMem,
    ipvs: { loaded: ipvsText !== null, sloppySctp: sloppy?.trim() ?? null, sctpServices: ipvsText ? parseIpvsServices(ipvsText) : [] },
    conntrack: { loaded: ctLoaded, sctpSysctls },
    nat: await gatherNat(o.run),
  };
}
