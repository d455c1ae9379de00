// Lab VM driver: boots the host's Debian kernel under QEMU (TCG) with the host
// root shared read-only over 9p (plus a tmpfs overlay), runs a bash job inside
// and collects its output. Guest side: test/lab/initramfs-init.sh, guest/init.sh,
// guest/lib.sh. Nothing here depends on sctpdiag's own code.
// Other Debian suites (job.suite / SCTPDIAG_LAB_SUITE): the suite's own kernel
// boots with its debootstrap'ed root (test/lab/build-root.sh) as the lower
// layer; the checkout and the host's node are bound in.
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabStatus {
  available: boolean;
  reason?: string;
  kernel?: string;
}

/** Debian suites the lab boots: bookworm is the host's own root and kernel; the others are built roots. */
export const SUITES = ['bullseye', 'bookworm', 'trixie', 'forky'] as const;
export type Suite = (typeof SUITES)[number];
export const HOST_SUITE: Suite = 'bookworm';

/** The suite a job runs on unless it names one: SCTPDIAG_LAB_SUITE, default bookworm. */
export function labSuite(): Suite {
  const s = process.env['SCTPDIAG_LAB_SUITE'] || HOST_SUITE;
  if (!(SUITES as readonly string[]).includes(s)) throw new Error(`SCTPDIAG_LAB_SUITE=${s}: not one of ${SUITES.join(', ')}`);
  return s as Suite;
}

export interface GuestJob {
  /** bash source; runs as root in the guest, cwd = repo root, lib.sh sourced */
  script: string;
  /** Debian suite (its kernel, bpftrace, tools); default labSuite() */
  suite?: Suite;
  /** wall-clock limit for the VM (boot included, waiting for a slot excluded); default 180000 */
  timeoutMs?: number;
  /** guest RAM in MiB; default 1024 */
  memMb?: number;
  /** how long a boot may take to reach the guest's init before it is killed and booted again; default SCTPDIAG_LAB_BOOT_S or 90 s */
  bootTimeoutMs?: number;
  /** extra environment for the script (names must be shell identifiers) */
  env?: Record<string, string>;
}

export interface GuestResult {
  /** exit status of the script; null if it never finished (timeout, crash) */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** serial console (kernel messages, init diagnostics) */
  console: string;
  timedOut: boolean;
  durationMs: number;
  /** boots it took: a guest that never reaches its init is killed and booted again */
  boots: number;
  /** host dir shared with the guest as $LAB_OUT (same path in the guest); kept */
  outDir: string;
  suite: Suite;
  /** the guest's kernel release */
  kernel: string;
}

const QEMU = 'qemu-system-x86_64';
const MAX_CONSOLE = 4 * 1024 * 1024;

/** Repo root: nearest ancestor of this file holding package.json (works from src and dist). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'lab', 'build-initramfs.sh'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('sctpdiag lab: cannot find the repo root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const repoRoot: string = findRepoRoot();
const labDir = join(repoRoot, 'test', 'lab');

function cacheDir(): string {
  return process.env['SCTPDIAG_LAB_CACHE'] || join(repoRoot, '.lab-cache');
}

function onPath(bin: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Newest /boot/vmlinuz-*-amd64 whose modules include net/sctp (or SCTPDIAG_LAB_KVER). */
function findKernel(): string | undefined {
  const forced = process.env['SCTPDIAG_LAB_KVER'];
  if (forced) return forced;
  let names: string[];
  try {
    names = readdirSync('/boot');
  } catch {
    return undefined;
  }
  const versions = names
    .map((n) => /^vmlinuz-(.+-amd64)$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined && existsSync(`/lib/modules/${v}/kernel/net/sctp`))
    .sort(compareVersions);
  return versions[versions.length - 1];
}

export function labStatus(suite: Suite = labSuite()): LabStatus {
  if (suite !== HOST_SUITE) return suiteStatus(suite);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { available: false, reason: `lab needs linux/x64, this is ${process.platform}/${process.arch}` };
  }
  if (!onPath(QEMU)) return { available: false, reason: `${QEMU} not found (apt-get install qemu-system-x86)` };
  const kernel = findKernel();
  if (!kernel) {
    return { available: false, reason: 'no /boot/vmlinuz-*-amd64 with an sctp module (apt-get install linux-image-amd64)' };
  }
  const vmlinuz = `/boot/vmlinuz-${kernel}`;
  try {
    accessSync(vmlinuz, constants.R_OK);
  } catch {
    return { available: false, reason: `${vmlinuz} missing or not readable`, kernel };
  }
  if (!existsSync(`/lib/modules/${kernel}/modules.dep`)) {
    return { available: false, reason: `/lib/modules/${kernel}/modules.dep missing`, kernel };
  }
  if (!onPath('busybox')) return { available: false, reason: 'busybox not found (apt-get install busybox-static)', kernel };
  if (!existsSync('/bin/bash')) return { available: false, reason: '/bin/bash missing', kernel };
  return { available: true, kernel };
}

/** A built suite: QEMU and busybox here, and its root cached or buildable (root + debootstrap). */
function suiteStatus(suite: Suite): LabStatus {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { available: false, reason: `lab needs linux/x64, this is ${process.platform}/${process.arch}` };
  }
  if (!onPath(QEMU)) return { available: false, reason: `${QEMU} not found (apt-get install qemu-system-x86)` };
  if (!onPath('busybox')) return { available: false, reason: 'busybox not found (apt-get install busybox-static)' };
  if (!onPath('debootstrap')) return { available: false, reason: `no ${suite} root can be built: debootstrap not found (apt-get install debootstrap)` };
  if (process.getuid?.() !== 0) return { available: false, reason: `building the ${suite} root needs root (debootstrap)` };
  return { available: true };
}

export interface SuiteRoot {
  root: string;
  kernel: string;
  vmlinuz: string;
}

const roots = new Map<string, Promise<SuiteRoot>>();

/** Build (or reuse) a suite's guest root (test/lab/build-root.sh; minutes the first time). */
export function ensureRoot(suite: Suite): Promise<SuiteRoot> {
  const key = `${cacheDir()}\0${suite}`;
  let p = roots.get(key);
  if (!p) {
    p = run(['bash', join(labDir, 'build-root.sh'), suite], { ...process.env, SCTPDIAG_LAB_CACHE: cacheDir() }).then((r) => {
      const root = r.stdout.trim().split('\n').pop() ?? '';
      if (r.code !== 0 || !root || !existsSync(join(root, '.lab-kver'))) {
        throw new Error(`build-root.sh ${suite} failed (exit ${r.code}):\n${r.stderr}`);
      }
      const kernel = readFileSync(join(root, '.lab-kver'), 'utf8').trim();
      // /boot up to trixie; forky keeps it beside the modules
      const vmlinuz = [join(root, 'boot', `vmlinuz-${kernel}`), join(root, 'usr/lib/modules', kernel, 'vmlinuz')].find((f) => existsSync(f));
      if (!vmlinuz) throw new Error(`${suite} root ${root}: no vmlinuz for ${kernel}`);
      return { root, kernel, vmlinuz };
    });
    p.catch(() => roots.delete(key));
    roots.set(key, p);
  }
  return p;
}

/** True when a missing lab must fail the tests instead of skipping them. */
export function labRequired(): boolean {
  return process.env['CI'] === 'true' || process.env['SCTPDIAG_LAB'] === 'required';
}

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return reject(new Error('empty argv'));
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const builds = new Map<string, Promise<string>>();

/** Build (or reuse) the initramfs for `kernel`; resolves to its path. */
export function ensureInitramfs(kernel: string, suiteRoot?: string): Promise<string> {
  const key = `${cacheDir()}\0${kernel}\0${suiteRoot ?? ''}`;
  let p = builds.get(key);
  if (!p) {
    p = run(['bash', join(labDir, 'build-initramfs.sh')], {
      ...process.env,
      SCTPDIAG_LAB_CACHE: cacheDir(),
      SCTPDIAG_LAB_KVER: kernel,
      ...(suiteRoot ? { SCTPDIAG_LAB_ROOT: suiteRoot } : {}),
    }).then((r) => {
      const path = r.stdout.trim().split('\n').pop() ?? '';
      if (r.code !== 0 || !existsSync(path)) {
        throw new Error(`build-initramfs.sh failed (exit ${r.code}):\n${r.stderr}`);
      }
      return path;
    });
    p.catch(() => builds.delete(key));
    builds.set(key, p);
  }
  return p;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(['LAB_MODE', 'LAB_NODE_DIR', 'LAB_REPO', 'LAB_OUT', 'LAB_TIMEOUT_S']);

/** Boot a fresh VM, run `job.script` in it, power off, collect results. */
export async function runInGuest(job: GuestJob): Promise<GuestResult> {
  const suite = job.suite ?? labSuite();
  const status = labStatus(suite);
  if (!status.available) throw new Error(`sctpdiag lab (${suite}) unavailable: ${status.reason ?? 'unknown'}`);
  const built = suite === HOST_SUITE ? null : await ensureRoot(suite);
  const kernel = built?.kernel ?? status.kernel;
  if (!kernel) throw new Error('sctpdiag lab: no kernel');
  const initrd = await ensureInitramfs(kernel, built?.root);

  // guest/init.sh exports each NUL-separated KEY=VALUE verbatim (no shell parsing)
  const env: Record<string, string> = { ...(job.env ?? {}) };
  for (const [k, v] of Object.entries(env)) {
    if (!NAME.test(k) || RESERVED.has(k)) throw new Error(`runInGuest: bad env name ${JSON.stringify(k)}`);
    if (v.includes('\0')) throw new Error(`runInGuest: NUL in env ${k}`);
  }
  const outDir = mkdtempSync(join(tmpdir(), 'sctpdiag-lab-'));
  if (/\s/.test(outDir + repoRoot)) throw new Error('sctpdiag lab: repo and tmp paths must not contain whitespace');
  writeFileSync(join(outDir, 'job.sh'), job.script, { mode: 0o644 });
  env['LAB_MODE'] = 'job';
  // a built suite gets the host's node bound at /opt/lab-node/bin (initramfs-init.sh)
  env['LAB_NODE_DIR'] = built ? '/opt/lab-node/bin' : dirname(process.execPath);
  if (built && /\s/.test(process.execPath)) throw new Error('sctpdiag lab: node path must not contain whitespace');
  const timeoutMs = job.timeoutMs ?? 180_000;
  const argv = [
    '-accel', 'tcg', '-cpu', 'max', '-smp', '2', '-m', String(job.memMb ?? 1024),
    '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
    '-kernel', built?.vmlinuz ?? `/boot/vmlinuz-${kernel}`, '-initrd', initrd,
    '-append',
    `console=ttyS0 quiet panic=-1 LAB_REPO=${repoRoot} LAB_OUT=${outDir}` +
      (built ? ` LAB_SUITE=${suite} LAB_NODE=${process.execPath}` : ''),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${outDir},mount_tag=labout,security_model=none,multidevs=remap`,
    ...(built ? ['-virtfs', `local,path=${built.root},mount_tag=suiteroot,security_model=none,readonly=on,multidevs=remap`] : []),
  ];

  const release = await acquireSlot();
  try {
    const started = Date.now();
    for (let boots = 1; ; boots++) {
      const leftMs = timeoutMs - (Date.now() - started);
      // guest-side backstop: the job is killed (and the VM powers off) even if this
      // process dies and nobody kills QEMU
      env['LAB_TIMEOUT_S'] = String(Math.max(1, Math.ceil(leftMs / 1000)));
      writeFileSync(
        join(outDir, 'lab.env'),
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}\0`)
          .join(''),
      );
      const r = await boot(argv, outDir, leftMs, job.bootTimeoutMs ?? bootLimitMs());
      writeFileSync(join(outDir, boots === 1 ? 'console.log' : `console.${boots}.log`), r.console);
      // Under TCG about one boot in a hundred stalls before the guest's init runs
      // (nothing on the console after the kernel starts). That is the emulator, not
      // the job: boot again while a fair share of the time is left.
      if (!r.neverBooted || boots >= MAX_BOOTS || timeoutMs - (Date.now() - started) < timeoutMs / 2) {
        return { ...r, durationMs: Date.now() - started, boots, suite, kernel };
      }
    }
  } finally {
    release();
  }
}

const MAX_BOOTS = 3;
const READY = 'lab-init: ready';

/** How long a boot may take to reach the guest's init (SCTPDIAG_LAB_BOOT_S; default 90 s, normal is 6-30 s). */
function bootLimitMs(): number {
  const s = Number(process.env['SCTPDIAG_LAB_BOOT_S']);
  return (Number.isFinite(s) && s > 0 ? s : 90) * 1000;
}

/**
 * Host-wide limit on concurrent VMs (TCG is CPU-bound: several VMs on a small
 * host slow each other down until timeouts hit). Slots are lock files holding
 * the owner's pid in <cache>/slots; stale ones (dead pid) are reclaimed.
 * SCTPDIAG_LAB_JOBS overrides the default max(1, floor(cpus / 2)).
 */
async function acquireSlot(): Promise<() => void> {
  const max = Number(process.env['SCTPDIAG_LAB_JOBS']) || Math.max(1, Math.floor(availableParallelism() / 2));
  const dir = join(cacheDir(), 'slots');
  mkdirSync(dir, { recursive: true });
  for (;;) {
    for (let i = 0; i < max; i++) {
      const path = join(dir, `slot${i}`);
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        };
      } catch {
        const pid = Number(readOr(path, '').trim());
        if (pid > 0 && !alive(pid)) {
          try {
            unlinkSync(path);
          } catch {
            /* raced */
          }
        }
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Boot extends Omit<GuestResult, 'boots' | 'suite' | 'kernel'> {
  /** the guest never printed READY: killed by the boot watchdog */
  neverBooted: boolean;
}

async function boot(argv: string[], outDir: string, timeoutMs: number, bootMs: number): Promise<Boot> {
  const started = Date.now();
  let consoleText = '';
  let timedOut = false;
  let ready = false;
  let neverBooted = false;
  await new Promise<number | null>((resolve, reject) => {
    const child = spawn(QEMU, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let kill: NodeJS.Timeout | undefined;
    const stop = (): void => {
      child.kill('SIGTERM');
      kill ??= setTimeout(() => child.kill('SIGKILL'), 3000);
    };
    const collect = (d: Buffer): void => {
      if (consoleText.length < MAX_CONSOLE) consoleText += d.toString();
      if (!ready && consoleText.includes(READY)) {
        ready = true;
        clearTimeout(watchdog);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const watchdog = setTimeout(() => {
      // the job's output files exist once it started (a console line can be garbled)
      if (ready || existsSync(join(outDir, 'stdout'))) return;
      neverBooted = true;
      timedOut = true;
      stop();
    }, Math.min(bootMs, timeoutMs));
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(watchdog);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(watchdog);
      if (kill) clearTimeout(kill);
      resolve(code);
    });
  });

  if (neverBooted) consoleText += `\n[vm.ts: no "${READY}" within ${(Math.min(bootMs, timeoutMs) / 1000).toFixed(1)} s: QEMU killed]\n`;
  else if (!ready && !timedOut && !existsSync(join(outDir, 'stdout'))) {
    // the kernel died before the guest's init (TCG: an early oops in text patching, ~1 boot in 10 on 6.12)
    neverBooted = true;
    consoleText += `\n[vm.ts: QEMU exited before "${READY}"]\n`;
  }
  const code = readOr(join(outDir, 'exitcode'), '').trim();
  return {
    exitCode: /^\d+$/.test(code) ? Number(code) : null,
    stdout: readOr(join(outDir, 'stdout'), ''),
    stderr: readOr(join(outDir, 'stderr'), ''),
    console: consoleText,
    timedOut,
    durationMs: Date.now() - started,
    outDir,
    neverBooted,
  };
}
