/**
 * `sctpdiag doctor`: runbook checks (platform, sysctl hazards, live
 * associations, path diversity, profile drift). gatherFacts() does all I/O,
 * the checks are pure, buildReport() returns the object --json prints.
 * Exit status: 0 when the worst finding is ok/info, 8 (DOCTOR_WARN) for a
 * warning, 9 (DOCTOR_FAIL) for a failure.
 */
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { globals } from '../context.js';
import { writeJson } from '../render/json.js';
import { parseNumber } from './options.js';
import { EXIT, SctpdiagError } from '../errors.js';
import { DEFAULT_STATE_DIR, resolveStateDir } from '../tune/apply.js';
import { checkProfileName } from '../tune/profile.js';
import { DEFAULT_LINKS_FILE, loadLinks } from '../links/load.js';

interface DoctorFlags {
  failoverTarget?: string;
  sample?: string;
  profile?: string;
  stateDir?: string;
  sysRoot: string;
  fsRoot?: string;
  verbose?: boolean;
  links?: string;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('runbook checks: platform, sysctl hazards, live associations, path diversity, profile drift, named links (exit 8: warning, 9: failure)')
    .option('--failover-target <ms>', 'warn when the modelled path failover time exceeds this many ms')
    .option('--sample <ms>', 'read twice, this many ms apart, to see whether retransmissions grow')
    .option('--profile <name>', 'check drift against this profile (default: the last one `tune --apply` applied)')
    .option('--state-dir <dir>', `where tune keeps its journal (default ${DEFAULT_STATE_DIR}, or SCTPDIAG_STATE_DIR)`)
    .addOption(new Option('--sys-root <dir>', 'directory standing in for /sys (e.g. /host/sys in a container)').default('/sys'))
    .option('--fs-root <dir>', 'directory standing in for / for modprobe.d and /lib/modules (default / on a live host; a capture reads none)')
    .option('-v, --verbose', 'show evidence for every check, not only warnings and failures')
    .option('--links <file>', `expected links: findings name them, a link down or below its min-active is a finding (default ${DEFAULT_LINKS_FILE} when it exists)`)
    .action(async (o: DoctorFlags, cmd: Command) => {
      const g = globals(cmd);
      const failoverTargetMs = o.failoverTarget !== undefined ? parseNumber(o.failoverTarget, '--failover-target', 1, 86_400_000, 'a duration in ms') : null;
      const sampleMs = o.sample !== undefined ? parseNumber(o.sample, '--sample', 1, 600_000, 'a duration in ms') : null;
      if (sampleMs !== null && g.procRoot !== '/proc')
        throw new SctpdiagError('--sample reads the live kernel twice; it cannot be used with --proc-root', EXIT.USAGE);
      if (o.profile !== undefined) checkProfileName(o.profile);
      const links = await loadLinks(o.links ?? null);
      const [{ gatherFacts }, { buildReport, printReport }] = await Promise.all([
        import('../doctor/gather.js'),
        import('../doctor/report.js'),
      ]);
      const facts = await gatherFacts({
        procRoot: g.procRoot,
        netns: g.netns,
        hz: g.hz,
        sysRoot: o.sysRoot,
        fsRoot: o.fsRoot,
        sampleMs,
        failoverTargetMs,
        profile: o.profile ?? null,
        stateDir: resolveStateDir(o.stateDir),
        links,
      });
      const report = buildReport(facts, hostname());
      if (g.json) writeJson(report);
      else process.stdout.write(printReport(report, g.style, { verbose: o.verbose === true }));
      if (report.exitCode !== EXIT.OK) {
        const n = report.counts;
        throw new SctpdiagError(
          report.exitCode === EXIT.DOCTOR_FAIL ? `doctor: ${n.fail} failure(s), ${n.warn} warning(s)` : `doctor: ${n.warn} warning(s)`,
          report.exitCode,
        );
      }
    });
}
