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
import type { ListenAddress } from '../metrics/listen.js';
import { MAX_FOR_MS, MIN_FOR_MS, TARGET_KEYS, type TargetKey, type Targets } from '../drill/spec.js';
import type { SysctlKey } from '../kernel/sysctl-catalog.js';

/** A decimal number within [min, max], integers only unless `decimals`; `what` completes "is not …" (e.g. "a port"). */
export function parseNumber(text: string, option: string, min: number, max: number, what: string, decimals = false): number {
  const re = decimals ? /^\d{1,9}(\.\d{1,3})?$/ : /^\d{1,15}$/;
  const n = Number(text);
  if (!re.test(text) || !Number.isFinite(n) || n < min || n > max)
    throw usageError(`${option}: ${JSON.stringify(text.slice(0, 60))} is not ${what} in ${min}..${max}${decimals ? ' (up to 3 decimals)' : ''}`);
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
/** PID_MAX_LIMIT on 64-bit kernels: no process id is larger */
export const parsePid = (text: string, option = '--netns-pid'): number => parseNumber(text, option, 1, 4_194_304, 'a process id');
// the sysctl catalog is handed in by the commands that load it, not loaded at every start
/** a sysctl's value given as an option: the catalog's range for that key (e.g. path_max_retrans 1..INT_MAX) */
export const parseSysctlInt = (text: string, option: string, key: SysctlKey): number => parseNumber(text, option, key.min ?? 0, key.max ?? Number.MAX_SAFE_INTEGER, `a value of ${key.name}`);
/** an RTT or RTO in ms (up to 3 decimals) within 0..maxMs: the kernel caps every RTO at rto_max ≤ TIMER_MAX_MS */
export const parseRttMs = (text: string, option: string, maxMs: number): number => parseNumber(text, option, 0, maxMs, 'a number of ms', true);

/** "500ms", "2s", "1.5s", "8" (seconds) → ms within [minMs, maxMs] */
export function parseDuration(text: string, option: string, minMs: number, maxMs: number, hint?: string): number {
  const m = /^(\d{1,7})(?:\.(\d{1,3}))?(ms|s)?$/.exec(text.trim());
  const ms = !m || (m[3] === 'ms' && m[2] !== undefined) ? NaN : m[3] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
  if (!(ms >= minMs && ms <= maxMs))
    throw usageError(`${option}: ${JSON.stringify(text.slice(0, 60))} is not a duration in ${minMs / 1000}s..${maxMs / 1000}s (e.g. 10s, 8000ms)`, hint);
  return ms;
}

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

/** drill --for */
export const parseFor = (text: string): number =>
  parseDuration(text, '--for', MIN_FOR_MS, MAX_FOR_MS, `a drill cuts a path for ${MIN_FOR_MS / 1000} to ${MAX_FOR_MS / 1000} s; a longer cut is an outage, not a drill`);

/** "PF=500ms,INACTIVE=2s" → { PF: 500, INACTIVE: 2000 } */
export function parseTargets(text: string): Targets {
  const out: Targets = {};
  for (const part of text.split(',')) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(part.trim());
    const key = m?.[1]?.toUpperCase();
    if (!m || !(TARGET_KEYS as readonly string[]).includes(key ?? ''))
      throw usageError(`--target: ${JSON.stringify(part)} is not KEY=DURATION`, `KEY is one of ${TARGET_KEYS.join(', ')}; e.g. PF=500ms,INACTIVE=2s`);
    out[key as TargetKey] = parseDuration(m[2]!, `--target ${key}`, 0, MAX_FOR_MS);
  }
  return out;
}

/** `--listen ADDR:PORT`: an IPv4 literal, a bracketed IPv6 literal or `localhost`, and a port 0–65535 */
export function parseListen(text: string): ListenAddress {
  const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net'); // loaded by the exporter only
  const bad = (why: string) =>
    usageError(`--listen ${JSON.stringify(text)}: ${why}`, 'use ADDR:PORT, e.g. 127.0.0.1:10132, 0.0.0.0:10132 or [::1]:10132');
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (!isIPv6(host)) throw bad(`${host} is not an IPv6 address`);
  } else {
    const m = /^([^:[\]]+):(\d+)$/.exec(text);
    if (!m) throw bad('expected ADDR:PORT');
    host = m[1]!;
    portText = m[2]!;
    if (host !== 'localhost' && !isIPv4(host)) throw bad(`${host} is not an IPv4 address (IPv6 goes in brackets)`);
  }
  return { host, port: parseNumber(portText, '--listen', 0, 65535, 'a port') };
}
