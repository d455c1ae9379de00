/**
 * CONFIG_HZ: /proc/net/sctp prints HBINT and RTO in jiffies. `getconf CLK_TCK`
 * is USER_HZ (always 100), not CONFIG_HZ, so it is of no use here.
 * Order: --hz option, a capture's recorded value, /boot/config-<release>,
 * /usr/lib/modules/<release>/config (where Debian 14 keeps it), /proc/config.gz, inference from live associations, else assume 250 (Debian).
 */
export type HzSource = 'option' | 'capture' | 'boot-config' | 'modules-config' | 'proc-config.gz' | 'inferred' | 'assumed';

export interface Hz {
  value: number;
  source: HzSource;
  /** where exactly it came from, for the operator */
  detail: string;
}

/** The values Linux allows for CONFIG_HZ on x86/arm64. */
export const KNOWN_HZ = [100, 250, 300, 1000] as const;
export const ASSUMED_HZ = 250;

export function hzFromConfig(text: string): number | null {
  const m = /^CONFIG_HZ=(\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Infer HZ from associations' HBINT (jiffies) and the hb_interval sysctl (ms).
 * Applications can set their own interval, so take the most common ratio and
 * accept it only when it lands within 2% of a value Linux allows.
 */
export function inferHz(hbintJiffies: readonly number[], hbIntervalMs: number): number | null {
  if (hbIntervalMs <= 0) return null;
  const votes = new Map<number, number>();
  for (const j of hbintJiffies) {
    if (j <= 0) continue;
    const ratio = (j * 1000) / hbIntervalMs;
    const hz = KNOWN_HZ.find((h) => Math.abs(ratio - h) <= h * 0.02);
    if (hz !== undefined) votes.set(hz, (votes.get(hz) ?? 0) + 1);
  }
  let best: number | null = null;
  let bestVotes = 0;
  for (const [hz, v] of votes) if (v > bestVotes) [best, bestVotes] = [hz, v];
  return best;
}

/** HBINT of live associations and the hb_interval sysctl, for inference */
export interface HbintInputs {
  hbints?: readonly number[];
  hbIntervalMs?: number | null;
}

export function jiffiesToMs(jiffies: number, hz: number): number {
  return Math.round((jiffies * 1000) / hz);
}

/** CONFIG_HZ when the configuration sources were silent: inferred from HBINT, else assumed. */
export function hzFromAssociations(i: HbintInputs): Hz {
  if (i.hbints && i.hbIntervalMs) {
    const hz = inferHz(i.hbints, i.hbIntervalMs);
    if (hz)
      return {
        value: hz,
        source: 'inferred',
        detail: `HBINT of ${i.hbints.length} association(s) against hb_interval=${i.hbIntervalMs} ms`,
      };
  }
  return { value: ASSUMED_HZ, source: 'assumed', detail: 'no kernel config found; Debian default assumed' };
}
