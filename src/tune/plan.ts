/**
 * From a resolved profile and the live values to an ordered list of writes:
 * what changes, what the kernel lacks, which rules the final state breaks, and
 * an order in which every intermediate state satisfies the kernel's bounds
 * (rto_min ≤ rto_max, pf_retrans ≤ ps_retrans).
 */
import { EXIT, SctpdiagError } from '../errors.js';
import {
  checkRules,
  lookupKey,
  normaliseValue,
  ORDER_CONSTRAINTS,
  type RuleFinding,
  type SysctlEffect,
  type SysctlUnit,
} from '../kernel/sysctl-catalog.js';
import type { ProfileEntry, ResolvedProfile } from './profile.js';

export interface Write {
  key: string;
  value: string;
}

export interface PlanItem {
  key: string;
  /** live value; null when the running kernel (or this netns) has no such key */
  current: string | null;
  target: string;
  unit: SysctlUnit;
  effect: SysctlEffect;
  change: boolean;
  /** why the key is not written (absent on this kernel / init-netns only) */
  skipped: string | null;
  /** where the profile sets it */
  source: { file: string; line: number; reason: string };
}

export interface Plan {
  profile: string;
  profileFile: string;
  items: PlanItem[];
  /** writes in kernel-safe order (only changed, present keys) */
  writes: Write[];
  findings: RuleFinding[];
  /** the values after the plan (current ∪ targets) */
  final: Record<string, string>;
}

export interface PlanOptions {
  allowInsecure?: boolean;
  /** peer paths assumed for RFC 4960 §8.2 (default 2) */
  paths?: number;
}

const satisfied = (state: Readonly<Record<string, string | undefined>>): boolean =>
  ORDER_CONSTRAINTS.every(({ lower, upper }) => {
    const lo = state[lower], hi = state[upper];
    if (lo === undefined || hi === undefined) return true;
    return Number(lo) <= Number(hi);
  });

/**
 * Order `changes` so that every intermediate state satisfies the kernel's
 * lower ≤ upper bounds, starting from `start`. Keeps the given order where it
 * can. Throws if no order exists (the final state itself is invalid).
 */
export function orderWrites(start: Readonly<Record<string, string | undefined>>, changes: readonly Write[]): Write[] {
  const state: Record<string, string | undefined> = { ...start };
  const pending = [...changes];
  const out: Write[] = [];
  while (pending.length > 0) {
    const i = pending.findIndex((w) => satisfied({ ...state, [w.key]: w.value }));
    if (i < 0) {
      throw new SctpdiagError(
        `no write order satisfies the kernel's bounds for ${pending.map((w) => `${w.key}=${w.value}`).join(', ')}`,
        EXIT.USAGE,
      );
    }
    const [w] = pending.splice(i, 1) as [Write];
    state[w.key] = w.value;
    out.push(w);
  }
  return out;
}

function where(e: ProfileEntry | undefined): string {
  return e ? `${e.file}:${e.line}: ` : '';
}

export function buildPlan(profile: ResolvedProfile, current: ReadonlyMap<string, string>, opts: PlanOptions = {}): Plan {
  const items: PlanItem[] = [];
  const final: Record<string, string> = Object.fromEntries(current);
  for (const [key, e] of profile.values) {
    const k = lookupKey(key)!;
    const cur = current.get(key) ?? null;
    const skipped =
      cur !== null ? null : k.scope === 'init-netns' ? 'exists only in the initial netns' : `not present on this kernel (since ${k.since}${k.requiresConfig ? `, ${k.requiresConfig}` : ''})`;
    const change = cur !== null && normaliseValue(cur) !== e.value;
    if (cur !== null) final[key] = e.value;
    items.push({ key, current: cur, target: e.value, unit: k.unit, effect: k.effect, change, skipped, source: { file: e.file, line: e.line, reason: e.reason } });
  }
  // guard rail before anything else
  const noauth = profile.values.get('addip_noauth_enable');
  if (noauth?.value === '1' && !opts.allowInsecure) {
    throw new SctpdiagError(
      `${where(noauth)}refusing addip_noauth_enable=1: unauthenticated ASCONF lets an off-path attacker add addresses and hijack associations`,
      EXIT.USAGE,
      'use auth_enable=1 with addip_noauth_enable=0; pass --allow-insecure only for a lab',
    );
  }
  const findings = checkRules(final, { paths: opts.paths });
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length > 0) {
    const f = errors[0]!;
    const src = f.keys.map((k) => profile.values.get(k)).find((x) => x !== undefined);
    throw new SctpdiagError(`${where(src)}${f.message}`, EXIT.USAGE, errors.length > 1 ? `${errors.length - 1} more rule error(s)` : undefined);
  }
  const changes = items.filter((i) => i.change).map((i) => ({ key: i.key, value: i.target }));
  const writes = orderWrites(Object.fromEntries(current), changes);
  return { profile: profile.name, profileFile: profile.file, items, writes, findings, final };
}

export interface Drift {
  key: string;
  expected: string;
  actual: string | null;
}

/** Profile keys whose live value differs (keys absent on this kernel are not drift). */
export function findDrift(profile: ResolvedProfile, current: ReadonlyMap<string, string>): Drift[] {
  const out: Drift[] = [];
  for (const [key, e] of profile.values) {
    const cur = current.get(key);
    if (cur === undefined) continue;
    if (normaliseValue(cur) !== e.value) out.push({ key, expected: e.value, actual: cur });
  }
  return out;
}
