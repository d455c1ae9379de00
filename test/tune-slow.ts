/**
 * `tune --apply` whose sysctl writes each take --delay-ms (default 1000): the
 * lock and signal tests (unit tune-harden, lab tune) need an apply caught in
 * the middle, and the CLI has no such knob. Errors print and exit as the CLI's.
 *   node dist/test/tune-slow.js --profile NAME [--proc-root P] [--state-dir D]
 *        [--profile-dir D] [--sysctl-dir D] [--wait S] [--delay-ms N]   (netns: $SCTPDIAG_NETNS)
 */
import { parseArgs } from 'node:util';
import { collectTune, DEFAULT_SYSCTL_D } from '../src/commands/tune.js';
import { SctpdiagError } from '../src/errors.js';
import { allowed } from '../src/kernel/privileges.js';
import { procSysctlIO, resolveStateDir, type SysctlIO } from '../src/tune/apply.js';
import { defaultProfileDirs } from '../src/tune/profile.js';

const { values: v } = parseArgs({
  strict: true,
  options: {
    profile: { type: 'string' },
    'proc-root': { type: 'string', default: '/proc' },
    'state-dir': { type: 'string' },
    'profile-dir': { type: 'string' },
    'sysctl-dir': { type: 'string', default: DEFAULT_SYSCTL_D },
    wait: { type: 'string' },
    'delay-ms': { type: 'string', default: '1000' },
  },
});
const delay = Number(v['delay-ms']);
const real = procSysctlIO(v['proc-root']);
const io: SysctlIO = {
  ...real,
  async write(key, value) {
    await real.write(key, value);
    await new Promise((r) => setTimeout(r, delay));
  },
};
const dirs = defaultProfileDirs();
try {
  await collectTune(
    { profile: v.profile, apply: true, ...(v.wait !== undefined ? { wait: Number(v.wait) } : {}) },
    {
      procRoot: v['proc-root'],
      netns: process.env['SCTPDIAG_NETNS'] || null,
      stateDir: resolveStateDir(v['state-dir']),
      profileDirs: { user: v['profile-dir'] ?? dirs.user, shipped: dirs.shipped },
      sysctlD: v['sysctl-dir'],
      isRoot: allowed('tune'),
      kernel: { release: null, hz: null },
      io,
    },
  );
} catch (e) {
  process.stderr.write(`sctpdiag: ${(e as Error).message}\n`);
  process.exitCode = e instanceof SctpdiagError ? e.exitCode : 1;
}
