/**
 * `sctpdiag sysctl`: every net.sctp key with its live value, default, unit,
 * effect (live / new sockets) and scope; non-default values are marked.
 */
import { writeJson } from '../render/json.js';
import { Command } from 'commander';
import { globals } from '../context.js';
import { noSctpError, usageError } from '../errors.js';
import {
  catalog,
  checkRules,
  defaultFor,
  fullName,
  lookupKey,
  normaliseValue,
  type KernelInfo,
  type RuleFinding,
  type SysctlEffect,
  type SysctlScope,
  type SysctlUnit,
} from '../kernel/sysctl-catalog.js';
import { readKernelRelease, readSysctls, sysctlDir } from '../procfs/sysctls.js';
import { table, type Style } from '../render/style.js';
import { escapeControl } from '../render/escape.js';

export const SYSCTL_SCHEMA_VERSION = 1;

export interface SysctlRow {
  name: string;
  /** null: the running kernel (or this netns) has no such key */
  value: string | null;
  default: string | null;
  nonDefault: boolean;
  unit: SysctlUnit;
  effect: SysctlEffect;
  scope: SysctlScope;
  since: string;
  meaning: string;
  note: string | null;
}

export interface SysctlReport {
  schemaVersion: typeof SYSCTL_SCHEMA_VERSION;
  netns: string | null;
  kernelRelease: string | null;
  keys: SysctlRow[];
  /** keys the kernel has but the catalog does not know */
  unknown: Array<{ name: string; value: string }>;
  findings: RuleFinding[];
}

export async function collectSysctl(procRoot: string, opts: { keys?: string[]; nonDefault?: boolean; netns?: string | null; kernel?: KernelInfo } = {}): Promise<SysctlReport> {
  const live = await readSysctls(procRoot);
  if (!live) throw noSctpError(sysctlDir(procRoot));
  const kernel = opts.kernel ?? { release: await readKernelRelease(procRoot) };
  const wanted = (opts.keys ?? []).map((k) => {
    const e = lookupKey(k);
    if (!e) throw usageError(`unknown key ${k}`, 'run `sctpdiag sysctl` without arguments for the list');
    return e.name;
  });
  let keys: SysctlRow[] = catalog.map((k) => {
    const value = live.get(k.name) ?? null;
    const def = defaultFor(k, kernel);
    return {
      name: k.name,
      value,
      default: def,
      nonDefault: value !== null && def !== null && normaliseValue(value) !== def,
      unit: k.unit,
      effect: k.effect,
      scope: k.scope,
      since: k.since,
      meaning: k.meaning,
      note: k.note ?? null,
    };
  });
  if (wanted.length) keys = keys.filter((k) => wanted.includes(k.name));
  if (opts.nonDefault) keys = keys.filter((k) => k.nonDefault);
  const unknown = [...live].filter(([n]) => !lookupKey(n)).map(([name, value]) => ({ name, value }));
  return {
    schemaVersion: SYSCTL_SCHEMA_VERSION,
    netns: opts.netns ?? null,
    kernelRelease: kernel.release ?? null,
    keys,
    unknown: wanted.length ? [] : unknown,
    findings: checkRules(Object.fromEntries(live)),
  };
}

export function printSysctl(r: SysctlReport, s: Style): string {
  const rows = [['KEY', 'VALUE', 'DEFAULT', 'UNIT', 'EFFECT', 'MEANING']];
  for (const k of r.keys) {
    const v = k.value === null ? s.dim(k.scope === 'init-netns' ? '(init netns only)' : `(absent; since ${k.since})`) : k.nonDefault ? s.yellow(k.value + ' *') : k.value;
    rows.push([fullName(k.name), v, k.default ?? '(machine)', k.unit, k.effect === 'live' ? 'live' : 'new sockets', k.meaning]);
  }
  const out = table(rows);
  for (const u of r.unknown) out.push(s.dim(`${escapeControl(fullName(u.name))} = ${escapeControl(u.value)}  (not in the sctpdiag catalog)`));
  out.push(s.dim('* = differs from the kernel default. "new sockets": copied at socket creation, running associations keep the old value.'));
  for (const f of r.findings) out.push((f.level === 'error' ? s.red : s.yellow)(`! ${f.message}`));
  return out.join('\n');
}

export function sysctlCommand(): Command {
  return new Command('sysctl')
    .description('list net.sctp sysctls: value, default, unit, effect; marks non-defaults')
    .argument('[keys...]', 'only these keys (rto_min or net.sctp.rto_min)')
    .option('--non-default', 'only keys that differ from the kernel default')
    .action(async function (this: Command, keys: string[]) {
      const g = globals(this);
      const o = this.opts<{ nonDefault?: boolean }>();
      const r = await collectSysctl(g.procRoot, { keys, nonDefault: o.nonDefault, netns: g.netns, kernel: { release: await readKernelRelease(g.procRoot), hz: g.hz ?? null } });
      if (g.json) writeJson(r);
      else process.stdout.write(printSysctl(r, g.style) + '\n');
    });
}
