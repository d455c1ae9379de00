/** CONFIG_HZ from the kernel's config files (the facts, and inference from HBINT: kernel/hz.ts). */
import { readRegularFileBytes } from '../safefs.js';
import { hzFromConfig, type Hz, type HbintInputs } from '../kernel/hz.js';

/** a kernel config is ~300 KB; a bigger file, or a gzip that inflates past this (a bomb in a capture), is not read */
export const CONFIG_MAX_BYTES = 16 * 1024 * 1024;

async function tryRead(path: string): Promise<Buffer | null> {
  try {
    return await readRegularFileBytes(path, CONFIG_MAX_BYTES);
  } catch {
    return null;
  }
}

export interface HzInputs extends HbintInputs {
  option?: number | undefined;
  captured?: number | undefined;
  release: string | null;
  procRoot: string;
  bootDir?: string;
  /** default /usr/lib/modules */
  modulesDir?: string;
}

/** CONFIG_HZ by config file: a running kernel's config does not change, so the ~270 KB file is read once (only a found value is kept) */
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
