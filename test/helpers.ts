/** Paths and small utilities shared by the tests. */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../src/package-files.js';
import { normaliseValue, shortName } from '../src/kernel/sysctl-catalog.js';
import { sysctlDir } from '../src/procfs/sysctls.js';
import type { Frame, Pane } from '../src/top/state.js';
import type { TopScreen } from '../src/top/screen.js';
import { stripColour } from '../src/render/style.js';
import { assocHealth, type Row } from '../src/top/view.js';
const PACKAGE_ROOT = packageRoot();
import { buildSnapshot, type Association, type Snapshot } from '../src/model/snapshot.js';
import { parseAssocs, parseEps, parseRemaddr, parseSnmp } from '../src/procfs/parse.js';

export const ROOT = PACKAGE_ROOT;
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const REAL = join(FIXTURES, 'linux-6.1-debian');
export const CAPTURES = join(FIXTURES, 'captures');
export const GOLDEN = join(ROOT, 'test', 'golden');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export function real(rel: string): string {
  return readFileSync(join(REAL, rel), 'utf8');
}

export function capture(name: string): string {
  return join(CAPTURES, name);
}

/**
 * The real failover series from the lab kernel (two-path-failover: va1 cut in
 * netns a, samples one second apart): t0 before the cut, then t1..t6.
 */
export async function failoverSeries(): Promise<import('../src/model/snapshot.js').Snapshot[]> {
  const snap = (assocs: string, remaddr: string, t: number) =>
    failoverSampleOf(real(`two-path-failover/${assocs}`), real(`two-path-failover/${remaddr}`), t);
  const series = [snap('a_assocs.txt', 'a_remaddr.txt', 0)];
  for (let i = 1; i <= 6; i++) series.push(snap(`a_assocs_fail_t${i}.txt`, `a_remaddr_fail_t${i}.txt`, i));
  return series;
}

/**
 * One sample of that series as `top` sees it: t0 before the cut, t1..t6 the
 * a_*_fail_tN files, the failure-time snmp counters after the cut.
 */
export function failoverSnapshot(t: number): Snapshot {
  const sfx = t === 0 ? '' : `_fail_t${t}`;
  const dir = 'two-path-failover';
  return buildSnapshot({
    takenAt: new Date(Date.UTC(2026, 10, 1, 12, 0, t)),
    netns: 'a',
    kernelRelease: '6.1.0-56-amd64',
    hz: { value: 250, source: 'capture', detail: 'test' },
    assocs: parseAssocs(real(`${dir}/a_assocs${sfx}.txt`)),
    eps: parseEps(real(`${dir}/a_eps.txt`)),
    remaddr: parseRemaddr(real(`${dir}/a_remaddr${sfx}.txt`)),
    snmp: parseSnmp(real(`${dir}/${t === 0 ? 'a_snmp.txt' : 'a_snmp_fail.txt'}`)),
  });
}

/** Write a whole set of sysctl values into a fake /proc/sys tree. */
export async function seedFakeProc(procRoot: string, values: ReadonlyMap<string, string>): Promise<void> {
  const dir = sysctlDir(procRoot);
  await mkdir(dir, { recursive: true });
  for (const [k, v] of values) await writeFile(join(dir, k), v + '\n');
}

/** A fake host for tune: a /proc/sys/net/sctp tree at the 6.1 defaults, state, profile and sysctl.d dirs in a temp dir. */
export async function fakeTuneHost(): Promise<{ root: string; proc: string; env: import('../src/commands/tune.js').TuneEnv }> {
  const { mkdtemp, mkdir, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { defaultProfileDirs } = await import('../src/tune/profile.js');
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-apply-'));
  const proc = join(root, 'proc');
  await seedFakeProc(proc, parseSysctlDump(await readFile(join(ROOT, 'test/fixtures/linux-6.1/sysctl_defaults.txt'), 'utf8')));
  await mkdir(join(proc, 'net', 'sctp'), { recursive: true });
  const env = {
    procRoot: proc,
    netns: null,
    stateDir: join(root, 'state'),
    profileDirs: { user: join(root, 'etc-profiles'), shipped: defaultProfileDirs({}).shipped },
    sysctlD: join(root, 'sysctl.d'),
    isRoot: true,
    kernel: { release: '6.1.0-56-amd64' },
  };
  return { root, proc, env };
}

/** Parse `key = value` lines (sysctl -a style, as in the 6.1 capture). */
export function parseSysctlDump(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\w./]+)\s*=\s*(.*)$/.exec(line);
    if (m && m[1] !== undefined && m[2] !== undefined) out.set(shortName(m[1]), normaliseValue(m[2]));
  }
  return out;
}

/** A top row for an association, as the app state builds one. */
export function makeRow(a: Association, prevRtxc?: number, slots?: number[], link: string | null = null): Row {
  return {
    key: a.key,
    assoc: a,
    health: assocHealth(a),
    rtxcDelta: prevRtxc === undefined ? null : Math.max(0, a.retransmittedChunks - prevRtxc),
    slots,
    link,
  };
}

/** The blessed screen as plain text (colours stripped), for golden tests. */
export function screenText(s: TopScreen): string {
  const shot = stripColour(s.screen.screenshot() as unknown as string);
  return shot
    .split('\n')
    .map((l: string) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

/** Plain text of a frame (what the screen shows, without colours). */
export function frameText(f: Frame): string {
  const grid: string[][] = Array.from({ length: f.height }, () => Array.from({ length: f.width }, () => ' '));
  const put = (p: Pane) => {
    p.lines.slice(0, p.height).forEach((l, i) => {
      const y = p.top + i;
      if (y >= f.height) return;
      [...l.text].slice(0, p.width).forEach((c, x) => {
        if (p.left + x < f.width) grid[y]![p.left + x] = c;
      });
    });
  };
  for (const p of [f.header, f.table, f.detail, f.snmp, f.events, f.help, f.footer]) if (p) put(p);
  return grid.map((r) => r.join('').trimEnd()).join('\n');
}

/** A sample of netns a of that series, t seconds in, from the text of its assocs and remaddr. */
export function failoverSampleOf(assocs: string, remaddr: string, t: number): Snapshot {
  return buildSnapshot({
    takenAt: new Date(Date.UTC(2026, 0, 1, 0, 0, t)),
    netns: 'a',
    kernelRelease: '6.1.0-56-amd64',
    hz: { value: 250, source: 'option', detail: 'test' },
    assocs: parseAssocs(assocs),
    eps: parseEps(real('two-path-failover/a_eps.txt')),
    remaddr: parseRemaddr(remaddr),
    snmp: parseSnmp(real('two-path-failover/a_snmp.txt')),
  });
}
