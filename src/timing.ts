/**
 * SCTPDIAG_TIMING=1: where one run's time went. Steps are marked in
 * milliseconds since the process started (node's own start-up included) and
 * printed as one `sctpdiag: timing {…}` line on stderr at exit. The lab bench
 * reads it (issue #7); an operator can too, to see whether the kernel or
 * sctpdiag is slow on a host.
 */
export const timing: Record<string, number> | null = process.env['SCTPDIAG_TIMING'] === '1' ? {} : null;

export function mark(step: string): void {
  if (timing) timing[step] = Math.round(performance.now());
}

export function printTiming(): void {
  if (timing) process.stderr.write(`sctpdiag: timing ${JSON.stringify(timing)}\n`);
}
