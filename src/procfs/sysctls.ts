/** Reading the net.sctp sysctls and the kernel release (the facts about them: kernel/sysctl-catalog.ts). */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile, UnsafeFileError } from '../safefs.js';
import { normaliseValue } from '../kernel/sysctl-catalog.js';

/** a sysctl file holds one short line; a larger one is not the kernel's */
const SYSCTL_MAX_BYTES = 4096;

/** Directory holding the net.sctp sysctls under a /proc root. */
export function sysctlDir(procRoot: string): string {
  return join(procRoot, 'sys', 'net', 'sctp');
}

/**
 * Every net.sctp value present under `${procRoot}/sys/net/sctp` (normalised),
 * by short name. Keys the running kernel lacks are simply absent; files that
 * cannot be read (write-only, EACCES) are skipped. Returns null when the
 * directory does not exist (SCTP not loaded).
 */
export async function readSysctls(procRoot: string): Promise<Map<string, string> | null> {
  const dir = sysctlDir(procRoot);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
  const out = new Map<string, string>();
  for (const n of names.sort()) {
    try {
      out.set(n, normaliseValue(await readRegularFile(join(dir, n), SYSCTL_MAX_BYTES)));
    } catch (e) {
      // a symlink, FIFO, device or huge file is a hostile tree (a capture), not a kernel: say so
      if (e instanceof UnsafeFileError && (e.reason === 'symlink' || e.reason === 'not-regular' || e.reason === 'too-large')) throw e;
      /* unreadable (write-only, EACCES): skip */
    }
  }
  return out;
}

/** Kernel release from `${procRoot}/sys/kernel/osrelease`, or null. */
export async function readKernelRelease(procRoot: string): Promise<string | null> {
  try {
    return (await readRegularFile(join(procRoot, 'sys', 'kernel', 'osrelease'), SYSCTL_MAX_BYTES)).trim() || null;
  } catch {
    return null;
  }
}
