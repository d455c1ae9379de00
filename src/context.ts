/**
 * The global options every command sees (set on the root program in cli.ts),
 * read the same way everywhere.
 */
import type { Command } from 'commander';
import { currentNetns } from './netns.js';
import { makeStyle, wantColor, type Style } from './render/style.js';

export interface GlobalOptions {
  json: boolean;
  /** directory standing in for /proc (a capture, or /proc/PID) */
  procRoot: string;
  /** name of the netns this process runs in, when sctpdiag re-executed itself there */
  netns: string | null;
  /** CONFIG_HZ given by the operator (overrides detection) */
  hz: number | undefined;
  style: Style;
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{
    json?: boolean;
    procRoot?: string;
    color?: boolean;
    hz?: number;
  }>();
  return {
    json: o.json === true,
    procRoot: o.procRoot ?? '/proc',
    netns: currentNetns(),
    hz: o.hz,
    style: makeStyle(wantColor(o.color, process.stdout)),
  };
}
