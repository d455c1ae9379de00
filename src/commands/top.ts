/**
 * `sctpdiag top`: the live dashboard (src/top). Options are validated here;
 * the screen opens only once they are good, and only on a terminal.
 */
import { Command } from 'commander';
import { globals } from '../context.js';
import { usageError } from '../errors.js';
import { checkSctpDir } from '../procfs/read.js';
import { parseLogPath, parseNumber } from './trace.js';

interface TopFlags {
  interval?: string;
  bpf?: boolean;
  log?: string;
  logMaxBytes?: string;
  logKeep?: string;
}

export interface TopSettings {
  intervalMs: number;
  noBpf: boolean;
  log: { path: string; maxBytes: number; keep: number } | null;
}

export function topSettings(o: TopFlags): TopSettings {
  const logPath = o.log !== undefined ? parseLogPath(o.log) : null;
  if (logPath === null && (o.logMaxBytes !== undefined || o.logKeep !== undefined))
    throw usageError('--log-max-bytes and --log-keep need --log FILE');
  return {
    intervalMs: o.interval !== undefined ? parseNumber(o.interval, '--interval', 200, 3_600_000, 'milliseconds') : 1000,
    noBpf: o.bpf === false,
    log: logPath
      ? {
          path: logPath,
          maxBytes: o.logMaxBytes !== undefined ? parseNumber(o.logMaxBytes, '--log-max-bytes', 4096, 2 ** 40, 'bytes') : 10 * 1024 * 1024,
          keep: o.logKeep !== undefined ? parseNumber(o.logKeep, '--log-keep', 1, 100, 'files') : 5,
        }
      : null,
  };
}

export function topCommand(): Command {
  return new Command('top')
    .description('live dashboard: associations, path health, RTO history, SNMP rates and events (q quits, ? helps)')
    .option('--interval <ms>', 'refresh interval in milliseconds; slowed down automatically when reading /proc is expensive (default 1000)')
    .option('--no-bpf', 'do not use bpftrace: events come from procfs snapshots only')
    .option('--log <file>', 'append every event to this NDJSON file while the dashboard runs (rotated by size)')
    .option('--log-max-bytes <n>', 'rotate the log when it reaches this size (default 10485760)')
    .option('--log-keep <n>', 'rotated log files kept (default 5)')
    .action(async (o: TopFlags, cmd: Command) => {
      const g = globals(cmd);
      if (g.json) throw usageError('top is interactive and has no --json output', 'use `sctpdiag status --json` or `sctpdiag trace --json`');
      const s = topSettings(o);
      if (!process.stdout.isTTY || !process.stdin.isTTY)
        throw usageError('top needs a terminal (stdin and stdout must be a TTY)', 'for scripts use `sctpdiag status` or `sctpdiag trace`');
      // a replayed capture must exist; live: a missing SCTP is shown on screen instead
      if (g.procRoot !== '/proc') await checkSctpDir(g.procRoot);
      // blessed is loaded only when the dashboard really starts (keeps every other command light)
      const { runTop } = await import('../top/run.js');
      await runTop({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, ...s });
    });
}
