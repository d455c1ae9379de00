/**
 * Shared by the lab tests: boot one guest for a whole test file, skip (with a
 * message saying so) where no lab can boot, fail instead when the lab is
 * required (CI=true or SCTPDIAG_LAB=required).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { labRequired, labStatus, runInGuest, type GuestJob, type GuestResult } from './vm.js';

/** True when the test may go on; otherwise it has been skipped or failed. */
export function labOrSkip(t: TestContext): boolean {
  const s = labStatus();
  if (s.available) return true;
  if (labRequired()) assert.fail(`SCTP lab required (CI=true or SCTPDIAG_LAB=required) but unavailable: ${s.reason}`);
  t.skip(`skipped: SCTP lab unavailable (${s.reason}); set SCTPDIAG_LAB=required to make this fail`);
  return false;
}

export function diagnostics(r: GuestResult): string {
  return (
    `exit=${r.exitCode} timedOut=${r.timedOut} boots=${r.boots} outDir=${r.outDir} ${r.durationMs} ms\n` +
    `--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}\n--- console\n${r.console.slice(-3000)}`
  );
}

/** Run a guest job once and share the result between the tests of a file. */
export function guestOnce(job: GuestJob): () => Promise<GuestResult> {
  let p: Promise<GuestResult> | undefined;
  return () => (p ??= runInGuest(job));
}

export function assertGuestOk(r: GuestResult): void {
  assert.equal(r.timedOut, false, diagnostics(r));
  assert.equal(r.exitCode, 0, diagnostics(r));
}
