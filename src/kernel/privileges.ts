/** Which capabilities sctpdiag's features need (include/uapi/linux/capability.h). */
import { readFileSync } from 'node:fs';

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
export function canUseBpf(capEff: bigint | null): boolean {
  return hasCap(capEff, CAP_SYS_ADMIN) || (hasCap(capEff, CAP_BPF) && hasCap(capEff, CAP_PERFMON));
}

/** sysctl writes and entering another network namespace */
export function canAdminNet(capEff: bigint | null): boolean {
  return hasCap(capEff, CAP_NET_ADMIN);
}

/** this process's effective capabilities */
export function ownCapEff(procRoot = '/proc'): bigint | null {
  try {
    return parseCapEff(readFileSync(`${procRoot}/self/status`, 'utf8'));
  } catch {
    return null;
  }
}
