/**
 * The doctor report: the plain object --json prints, its text rendering, and
 * the exit code (worst severity: fail → 9, warn → 8, ok/info → 0).
 */
import { EXIT, type ExitCode } from '../errors.js';
import type { Style } from '../render/style.js';
import { runChecks } from './checks.js';
import { SEVERITY_ORDER, type CheckResult, type DoctorFacts, type Severity } from './types.js';
import { escapeControl } from '../render/escape.js';

export const DOCTOR_SCHEMA_VERSION = 1;

export interface DoctorReport {
  schemaVersion: typeof DOCTOR_SCHEMA_VERSION;
  host: string;
  netns: string | null;
  kernelRelease: string | null;
  takenAt: string | null;
  /** true when reading a capture: host checks skipped */
  capture: boolean;
  worst: Severity;
  exitCode: ExitCode;
  counts: Record<Severity, number>;
  checks: CheckResult[];
}

export function worstSeverity(results: readonly CheckResult[]): Severity {
  let worst = 0;
  for (const r of results) worst = Math.max(worst, SEVERITY_ORDER.indexOf(r.severity));
  return SEVERITY_ORDER[worst]!;
}

const EXIT_CODES: Record<Severity, ExitCode> = { ok: EXIT.OK, info: EXIT.OK, warn: EXIT.DOCTOR_WARN, fail: EXIT.DOCTOR_FAIL };

export const exitCodeFor = (worst: Severity): ExitCode => EXIT_CODES[worst];

export function buildReport(facts: DoctorFacts, host: string, checks = runChecks(facts)): DoctorReport {
  const counts: Record<Severity, number> = { ok: 0, info: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.severity]++;
  const worst = worstSeverity(checks);
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    host,
    netns: facts.snapshot?.netns ?? null,
    kernelRelease: facts.snapshot?.kernelRelease ?? null,
    takenAt: facts.snapshot?.takenAt ?? null,
    capture: facts.platform === null,
    worst,
    exitCode: exitCodeFor(worst),
    counts,
    checks,
  };
}

const TAGS: Record<Severity, (st: Style) => string> = {
  fail: (st) => st.red('FAIL'),
  warn: (st) => st.yellow('WARN'),
  info: (st) => st.dim('info'),
  ok: (st) => st.green(' ok '),
};

/** The text report; `verbose` also shows the evidence of ok/info results. */
export function printReport(r: DoctorReport, st: Style, o: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  const where = r.netns ? `netns ${r.netns}` : 'current netns';
  out.push(st.bold(`sctpdiag doctor · ${escapeControl(r.host)} · ${escapeControl(where)} · kernel ${escapeControl(r.kernelRelease ?? 'unknown')}${r.capture ? ' · capture' : ''}`));
  let category = '';
  for (const c of r.checks) {
    if (c.category !== category) {
      category = c.category;
      out.push('', st.bold(category));
    }
    out.push(`  ${TAGS[c.severity](st)}  ${escapeControl(c.title)}  ${st.dim(`[${c.id}]`)}`);
    const detail = o.verbose || c.severity === 'warn' || c.severity === 'fail';
    if (detail) for (const e of c.evidence) out.push(`        ${st.dim('·')} ${escapeControl(e)}`);
    if (c.remedy && c.severity !== 'ok' && (detail || c.severity === 'info')) out.push(`        ${st.bold('→')} ${c.remedy}`);
  }
  const n = r.counts;
  out.push(
    '',
    `${n.fail} failure(s), ${n.warn} warning(s), ${n.info} note(s), ${n.ok} ok — exit ${r.exitCode}` +
      (r.exitCode === EXIT.DOCTOR_FAIL ? ' (failure)' : r.exitCode === EXIT.DOCTOR_WARN ? ' (warning)' : ''),
  );
  return out.join('\n') + '\n';
}
