/**
 * Exit codes and the one error type every command throws. The CLI's single
 * error handler (cli.ts) turns a SctpdiagError into one line on stderr and
 * its exit code; anything else is an internal error (exit 1).
 * The table is documented in man/sctpdiag.8 (EXIT STATUS) — keep them equal.
 */
export const EXIT = {
  OK: 0,
  /** unexpected internal failure */
  FAILURE: 1,
  /** bad command line, bad option value, malformed input file */
  USAGE: 2,
  /** /proc/net/sctp missing: the sctp module is not loaded or the kernel has no SCTP */
  NO_SCTP: 3,
  /** the operation needs root (kernel/privileges.ts says who may do what) */
  PERMISSION: 4,
  /** a named thing does not exist: netns, profile, association, capture dir */
  NOT_FOUND: 5,
  /** tune --verify: live values differ from the profile */
  DRIFT: 6,
  /** tune --apply failed; every key already written was restored */
  APPLY_FAILED: 7,
  /** doctor: worst finding is a warning */
  DOCTOR_WARN: 8,
  /** doctor: worst finding is a failure */
  DOCTOR_FAIL: 9,
  /** another run holds the lock that serialises kernel changes: tune --apply/--rollback (after --wait), or a drill */
  BUSY: 10,
  /** drill: it ran, and a --target was missed or an expected event was never seen */
  DRILL_FAILED: 11,
  /** drill refused: the cut would leave the association without an ACTIVE path (or it is not ESTABLISHED) */
  DRILL_UNSAFE: 12,
  /** drill: the nft tool (nftables) is missing */
  NO_NFT: 13,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class SctpdiagError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.FAILURE,
    /** one extra line telling the operator what to do */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SctpdiagError';
  }
}

export function usageError(message: string, hint?: string): SctpdiagError {
  return new SctpdiagError(message, EXIT.USAGE, hint);
}

export function noSctpError(where: string): SctpdiagError {
  return new SctpdiagError(
    `SCTP is not available in this kernel (${where} does not exist)`,
    EXIT.NO_SCTP,
    'run `modprobe sctp` (and `modprobe sctp_diag` for `ss -S`), or point --proc-root at a capture',
  );
}
