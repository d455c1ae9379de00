/**
 * Who a process is across PID reuse and reboots: its start time and the boot
 * it runs in. The tune and drill locks name their holder by these.
 */
import { readFileSync } from 'node:fs';

/** /proc/PID/stat field 22 (starttime, clock ticks after boot), null when unreadable. */
export function readStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the comm field is in parentheses and may hold spaces and ')': fields resume after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall; rest[0] is field 3
  } catch {
    return null;
  }
}

/** /proc/sys/kernel/random/boot_id, null when unreadable. */
export function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}
