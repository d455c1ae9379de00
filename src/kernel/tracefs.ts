import { join } from 'node:path';

/**
 * Where the kernel's tracing files live: tracefs at /sys/kernel/tracing, or the
 * older debugfs mount at /sys/kernel/debug/tracing. `ip netns exec` gives a
 * process its own mount namespace with a fresh /sys that has neither; the
 * initial mount namespace's copy stays reachable through pid 1.
 */
export const TRACEFS_DIRS = ['kernel/tracing', 'kernel/debug/tracing'] as const;

/** The initial mount namespace's /sys, as seen from any mount namespace (needs root). */
export const INITIAL_SYS_ROOT = '/proc/1/root/sys';

/** Candidate paths of one tracing file under a /sys root, tracefs first. */
export function tracefsFiles(sysRoot: string, file: string): string[] {
  return TRACEFS_DIRS.map((d) => join(sysRoot, d, file));
}

/**
 * Where the kernel offers kprobes: the perf kprobe PMU (4.17+, what bpftrace and
 * libbpf attach through; sysfs, so visible under `ip netns exec` too), else
 * tracefs's kprobe_events (older kernels).
 */
export function kprobeFiles(sysRoot: string): string[] {
  return [join(sysRoot, 'bus/event_source/devices/kprobe'), ...tracefsFiles(sysRoot, 'kprobe_events')];
}
