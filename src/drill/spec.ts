/**
 * `sctpdiag drill` input: the option values, validated once from user text.
 * Everything later (nft rules, the lock, the report) only sees these values.
 */
import { usageError } from '../errors.js';

/** longest cut allowed: a drill is a bounded test, not an outage */
export const MAX_FOR_MS = 120_000;
export const MIN_FOR_MS = 1_000;
export const DEFAULT_FOR_MS = 10_000;

/** the events a --target can bound, as the operator types them */
export const TARGET_KEYS = ['STRIKE', 'PF', 'INACTIVE', 'MOVED', 'ACTIVE'] as const;
export type TargetKey = (typeof TARGET_KEYS)[number];
export type Targets = Partial<Record<TargetKey, number>>;

/** "500ms", "2s", "1.5s", "8" (seconds) → ms; null when not a duration */
export function durationMs(text: string): number | null {
  const m = /^(\d{1,7})(?:\.(\d{1,3}))?(ms|s)?$/.exec(text.trim());
  if (!m) return null;
  if (m[3] === 'ms' && m[2] !== undefined) return null;
  const whole = Number(m[1]);
  if (m[3] === 'ms') return whole;
  return whole * 1000 + Number((m[2] ?? '').padEnd(3, '0') || 0);
}

export function parseFor(text: string): number {
  const ms = durationMs(text);
  if (ms === null) throw usageError(`--for: ${JSON.stringify(text)} is not a duration (e.g. 10s, 8000ms)`);
  if (ms > MAX_FOR_MS) throw usageError(`--for ${text}: a drill cuts a path for at most ${MAX_FOR_MS / 1000} s`, 'a longer cut is an outage, not a drill');
  if (ms < MIN_FOR_MS) throw usageError(`--for ${text}: at least ${MIN_FOR_MS / 1000} s`);
  return ms;
}

/** "PF=500ms,INACTIVE=2s" → { PF: 500, INACTIVE: 2000 } */
export function parseTargets(text: string): Targets {
  const out: Targets = {};
  for (const part of text.split(',')) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(part.trim());
    const key = m?.[1]?.toUpperCase();
    if (!m || !(TARGET_KEYS as readonly string[]).includes(key ?? ''))
      throw usageError(`--target: ${JSON.stringify(part)} is not KEY=DURATION`, `KEY is one of ${TARGET_KEYS.join(', ')}; e.g. PF=500ms,INACTIVE=2s`);
    const ms = durationMs(m[2]!);
    if (ms === null || ms > MAX_FOR_MS) throw usageError(`--target ${key}: ${JSON.stringify(m[2])} is not a duration up to ${MAX_FOR_MS / 1000} s`);
    out[key as TargetKey] = ms;
  }
  return out;
}
