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

export function jiffiesToMs(jiffies: number, hz: number): number {
  return Math.round((jiffies * 1000) / hz);
}

/** a kernel config is ~300 KB; a bigger file, or a gzip that inflates past this (a bomb in a capture), is not read */
export const CONFIG_MAX_BYTES = 16 * 1024 * 1024;

async function tryRead(path: string): Promise<Buffer | null> {
  try {
    // imported here: KNOWN_HZ is needed to parse the command line, the file reader only to read
    const { readRegularFileBytes } = await import('../safefs.js');
    return await readRegularFileBytes(path, CONFIG_MAX_BYTES);
  } catch {
    return null;
  }
}

export interface HzInputs {
  option?: number | undefined;
  captured?: number | undefined;
  release: string | null;
  procRoot: string;
  bootDir?: string;
  /** default /usr/lib/modules */
  modulesDir?: string;
  /** HBINT of live associations and the hb_interval sysctl, for inference */
  hbints?: readonly number[];
  hbIntervalMs?: number | null;
}

/** CONFIG_HZ found in a kernel config, by path: a running kernel's config never changes, so the ~270 KB file is read once; a file that appears later is still seen. */
const configHz = new Map<string, number>();

async function hzInConfigFile(path: string, gzipped: boolean): Promise<number | null> {
  const known = configHz.get(path);
  if (known !== undefined) return known;
  const buf = await tryRead(path);
  if (!buf) return null;
  let hz: number | null = null;
  try {
    // node:zlib is loaded only when a gzipped config is read, not at every start
    hz = hzFromConfig((gzipped ? process.getBuiltinModule('node:zlib').gunzipSync(buf, { maxOutputLength: CONFIG_MAX_BYTES }) : buf).toString('utf8'));
  } catch {
    /* not gzip, or inflates past CONFIG_MAX_BYTES */
  }
  if (hz) configHz.set(path, hz);
  return hz;
}

/**
 * CONFIG_HZ from what needs no associations: the option, the capture, the
 * kernel's config (/boot, /proc/config.gz). Null when none says. readSnapshot
 * runs this while the kernel prints /proc/net/sctp.
 */
export async function hzFromConfigSources(i: Omit<HzInputs, 'hbints' | 'hbIntervalMs'>): Promise<Hz | null> {
  if (i.option !== undefined) return { value: i.option, source: 'option', detail: '--hz' };
  if (i.captured !== undefined) return { value: i.captured, source: 'capture', detail: 'recorded in the capture' };
  if (i.release) {
    const path = `${i.bootDir ?? '/boot'}/config-${i.release}`;
    const hz = await hzInConfigFile(path, false);
    if (hz) return { value: hz, source: 'boot-config', detail: path };
    const mod = `${i.modulesDir ?? '/usr/lib/modules'}/${i.release}/config`;
    const mhz = await hzInConfigFile(mod, false);
    if (mhz) return { value: mhz, source: 'modules-config', detail: mod };
  }
  const gz = `${i.procRoot}/config.gz`;
  const hz = await hzInConfigFile(gz, true);
  if (hz) return { value: hz, source: 'proc-config.gz', detail: gz };
  return null;
}

/** CONFIG_HZ when the configuration sources were silent: inferred from HBINT, else assumed. */
export function hzFromAssociations(i: Pick<HzInputs, 'hbints' | 'hbIntervalMs'>): Hz {
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
