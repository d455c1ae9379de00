/** Which capabilities sctpdiag's features need (include/uapi/linux/capability.h). */
import { readFileSync } from 'node:fs';
import { EXIT, SctpdiagError } from '../errors.js';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

const hasCap = (mask: bigint | null, bit: bigint): boolean => mask !== null && (mask & (1n << bit)) !== 0n;

/** CapEff from a /proc/<pid>/status text, or null. */
export function parseCapEff(status: string | null): bigint | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status ?? '');
  return m ? BigInt('0x' + m[1]) : null;
}

/** bpftrace loads programs and attaches probes: CAP_BPF with CAP_PERFMON (5.8+), or CAP_SYS_ADMIN (root has all). */
function canUseBpf(capEff: bigint | null): boolean {
  return hasCap(capEff, CAP_SYS_ADMIN) || (hasCap(capEff, CAP_BPF) && hasCap(capEff, CAP_PERFMON));
}

/** Who runs us, as every privilege rule judges it. */
export interface Who {
  uid: number;
  capEff: bigint | null;
}

/** root, and (when CapEff is known) holding `cap`: root in a container may have had it dropped */
const rootWith = (w: Who, cap: bigint): boolean => w.uid === 0 && (w.capEff === null || hasCap(w.capEff, cap));

/**
 * What only some users may do. tune --apply/--rollback write sysctls and root's state dir (proc_sys
 * lets euid 0 write whatever its capabilities); drill --yes loads an nft table (netlink: CAP_NET_ADMIN);
 * --netns/--netns-pid call setns(2) (CAP_SYS_ADMIN in our user namespace and the target's); bpf: canUseBpf.
 */
export const PRIVILEGED = {
  bpf: { allowed: (w: Who) => canUseBpf(w.capEff), without: 'bpf events (bpftrace needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN): procfs polling only' },
  tune: { allowed: (w: Who) => w.uid === 0, without: 'no sysctl writes (tune --apply/--rollback need root)' },
  drill: { allowed: (w: Who) => rootWith(w, CAP_NET_ADMIN), without: 'no drill --yes (its nft cut needs root with CAP_NET_ADMIN)' },
  netns: { allowed: (w: Who) => rootWith(w, CAP_SYS_ADMIN), without: 'no --netns/--netns-pid (entering a network namespace needs root with CAP_SYS_ADMIN)' },
} as const;

export type Privilege = keyof typeof PRIVILEGED;

/** this process, as the rules judge it */
const self = (): Who => ({ uid: process.getuid?.() ?? -1, capEff: ownCapEff() });

export function allowed(what: Privilege, who: Who = self()): boolean {
  return PRIVILEGED[what].allowed(who);
}

/** Refuse, before anything is read or written, what this process may not do (exit 4). */
export function requirePrivilege(what: Privilege, message: string, hint: string): void {
  if (!allowed(what)) throw new SctpdiagError(message, EXIT.PERMISSION, hint);
}

/** this process's effective capabilities */
function ownCapEff(procRoot = '/proc'): bigint | null {
  try {
    return parseCapEff(readFileSync(`${procRoot}/self/status`, 'utf8'));
  } catch {
    return null;
  }
}
