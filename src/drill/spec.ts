/** `sctpdiag drill` input bounds (checked by commands/options.ts parseFor/parseTargets). */

/** longest cut allowed: a drill is a bounded test, not an outage */
export const MAX_FOR_MS = 120_000;
export const MIN_FOR_MS = 1_000;
export const DEFAULT_FOR_MS = 10_000;

/** the events a --target can bound, as the operator types them */
export const TARGET_KEYS = ['STRIKE', 'PF', 'INACTIVE', 'MOVED', 'ACTIVE'] as const;
export type TargetKey = (typeof TARGET_KEYS)[number];
export type Targets = Partial<Record<TargetKey, number>>;
