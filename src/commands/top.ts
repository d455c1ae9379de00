/**
 * `sctpdiag top`: the live dashboard (src/top). Options are validated here;
 * the screen opens only once they are good, and only on a terminal.
 */
import { Command } from 'commander';
import { globals } from '../context.js';
import { usageError } from '../errors.js';
import { checkSctpDir } from '../procfs/read.js';
import { DEFAULT_STATE_DIR, resolveStateDir } from '../tune/apply.js';
import { logSettings, parseNumber, type LogFlags } from './options.js';
import { DEFAULT_LINKS_FILE, loadLinks } from '../links/load.js';
import type { TopRunOptions } from '../top/run.js';

interface TopFlags extends LogFlags {
  stateDir?: string;
  interval?: string;
  bpf?: boolean;
  links?: string;
}

function topSettings(o: TopFlags): Pick<TopRunOptions, 'intervalMs' | 'noBpf' | 'log'> {
  return {
    intervalMs: o.interval !== undefined ? parseNumber(o.interval, '--interval', 200, 3_600_000, 'a number of milliseconds') : 1000,
    noBpf: o.bpf === false,
    log: logSettings(o),
  };
}

export function topCommand(): Command {
  return new Command('top')
    .description('live dashboard: associations, path health, RTO history, SNMP rates and events (q quits, ? helps)')
    .option('--interval <ms>', 'refresh interval in milliseconds; slowed down automatically when reading /proc is expensive (default 1000)')
    .option('--no-bpf', 'do not use bpftrace: events come from procfs snapshots only')
    .option('--state-dir <dir>', `tune's journal directory, to show drift from the applied profile (default ${DEFAULT_STATE_DIR}, or $SCTPDIAG_STATE_DIR)`)
    .option('--log <file>', 'append every event to this NDJSON file while the dashboard runs (rotated by size)')
    .option('--log-max-bytes <n>', 'rotate the log when it reaches this size (default 10485760)')
    .option('--log-keep <n>', 'rotated log files kept (default 5)')
    .option('--links <file>', `name associations by a links file, and show links that are down (default ${DEFAULT_LINKS_FILE} when it exists)`)
    .action(async (o: TopFlags, cmd: Command) => {
      const g = globals(cmd);
      if (g.json) throw usageError('top is interactive and has no --json output', 'use `sctpdiag status --json` or `sctpdiag trace --json`');
      const s = topSettings(o);
      // a bad links file is an error before anything else, terminal or not
      const links = await loadLinks(o.links ?? null);
      if (!process.stdout.isTTY || !process.stdin.isTTY)
        throw usageError('top needs a terminal (stdin and stdout must be a TTY)', 'for scripts use `sctpdiag status` or `sctpdiag trace`');
      // a replayed capture must exist; live: a missing SCTP is shown on screen instead
      if (g.procRoot !== '/proc') await checkSctpDir(g.procRoot);
      // blessed is loaded only when the dashboard really starts (keeps every other command light)
      const { runTop } = await import('../top/run.js');
      await runTop({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, stateDir: resolveStateDir(o.stateDir), links, ...s });
    });
}
