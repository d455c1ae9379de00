/**
 * Every command-line value is checked here, once: a bad one is a usage error
 * (exit 2) naming the option, never a NaN passed on.
 */
import { InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { KNOWN_HZ } from '../kernel/hz.js';
import { ASSOC_STATES, PATH_STATE_NAMES } from '../kernel/enums.js';
import { normaliseUserAddress } from '../model/addr.js';
import { DEFAULT_EVENT_TYPES, EVENT_TYPES, type EventType } from '../events/types.js';
import type { LogSettings } from '../trace/run.js';
import { MAX_PATHS } from '../model/limits.js';

/** A decimal number within [min, max], integers only unless `decimals`; `what` completes "is not …" (e.g. "a port"). */
export function parseNumber(text: string, option: string, min: number, max: number, what: string, decimals = false): number {
  const re = decimals ? /^\d{1,9}(\.\d{1,3})?$/ : /^\d{1,15}$/;
  const n = Number(text);
  if (!re.test(text) || !Number.isFinite(n) || n < min || n > max)
    throw usageError(`${option}: ${JSON.stringify(text.slice(0, 60))} is not ${what} in ${min}..${max}`);
  return n;
}

/** --hz (a commander argParser: commander reports the error with the option's name) */
export function parseHz(v: string): number {
  const n = Number(v);
  if (!(KNOWN_HZ as readonly number[]).includes(n)) throw new InvalidArgumentError(`CONFIG_HZ must be one of ${KNOWN_HZ.join(', ')}`);
  return n;
}

export const parseAssocId = (text: string, option = '--assoc'): number => parseNumber(text, option, 0, 0xffffffff, 'an association id');
export const parsePort = (text: string, option = '--port'): number => parseNumber(text, option, 1, 65535, 'a port');
/** --paths of every command that models failover */
export const parsePaths = (text: string): number => parseNumber(text, '--paths', 1, MAX_PATHS, 'a number of paths');

/** --kernel: a kernel release as `uname -r` prints it (e.g. 5.10.0-32-amd64) */
export function parseKernelRelease(text: string, option = '--kernel'): string {
  if (!/^\d{1,3}\.\d{1,3}(?:[.+~-][\w.+~-]{0,60})?$/.test(text)) throw usageError(`${option}: ${JSON.stringify(text.slice(0, 60))} is not a kernel release like 5.10.0-32-amd64`);
  return text;
}

/** `status --live [SECONDS]`: how long to listen to the probes (default 10 s; idle paths report once per heartbeat interval) */
export const parseLiveSeconds = (v: string | true): number => (v === true ? 10 : parseNumber(v, '--live', 1, 3600, 'a number of seconds'));

export function parsePeer(text: string, option = '--peer'): string {
  const a = normaliseUserAddress(text);
  if (!a) throw usageError(`${option}: ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  return a;
}

export const STATE_FILTERS: readonly string[] = [...ASSOC_STATES, ...PATH_STATE_NAMES];

export function parseStateFilter(text: string, option = '--state'): string {
  const s = text.toUpperCase().replace(/-/g, '_');
  if (!STATE_FILTERS.includes(s)) throw usageError(`${option}: unknown state ${JSON.stringify(text)}`, `one of: ${STATE_FILTERS.join(', ')}`);
  return s;
}

/** `all`, `default`, or a comma list of event names; a name ending in `.*` takes the family (path.*). */
export function parseEventList(text: string, option = '--events'): Set<EventType> {
  if (text.length > 1000) throw usageError(`${option}: list too long`);
  const out = new Set<EventType>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'all') EVENT_TYPES.forEach((t) => out.add(t));
    else if (item === 'default') DEFAULT_EVENT_TYPES.forEach((t) => out.add(t));
    else if (/^[a-z]+\.\*$/.test(item) && EVENT_TYPES.some((t) => t.startsWith(item.slice(0, -1))))
      EVENT_TYPES.filter((t) => t.startsWith(item.slice(0, -1))).forEach((t) => out.add(t));
    else if ((EVENT_TYPES as readonly string[]).includes(item)) out.add(item as EventType);
    else
      throw usageError(
        `${option}: unknown event ${JSON.stringify(item.slice(0, 60))}`,
        `one or more of: all, default, ${EVENT_TYPES.join(', ')} (or a family such as path.*)`,
      );
  }
  if (out.size === 0) throw usageError(`${option}: no event named`);
  return out;
}

export function parseLogPath(text: string, option = '--log'): string {
  if (text === '' || text.length > 4096 || /[\0\n\r]/.test(text)) throw usageError(`${option}: invalid file name`);
  const p = resolve(text);
  const dir = statSync(dirname(p), { throwIfNoEntry: false });
  if (!dir?.isDirectory()) throw usageError(`${option}: directory ${dirname(p)} does not exist`);
  const st = statSync(p, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw usageError(`${option}: ${p} exists and is not a regular file`);
  return p;
}

export interface LogFlags {
  log?: string;
  logMaxBytes?: string;
  logKeep?: string;
}

/** --log FILE [--log-max-bytes N] [--log-keep N], shared by trace and top. */
export function logSettings(o: LogFlags): LogSettings | null {
  const path = o.log !== undefined ? parseLogPath(o.log) : null;
  if (path === null) {
    if (o.logMaxBytes !== undefined || o.logKeep !== undefined) throw usageError('--log-max-bytes and --log-keep need --log FILE');
    return null;
  }
  return {
    path,
    maxBytes: o.logMaxBytes !== undefined ? parseNumber(o.logMaxBytes, '--log-max-bytes', 4096, 2 ** 40, 'a number of bytes') : 10 * 1024 * 1024,
    keep: o.logKeep !== undefined ? parseNumber(o.logKeep, '--log-keep', 1, 100, 'a number of files') : 5,
  };
}
