/**
 * Network namespaces. procfs and sysctls are per netns, and Node cannot
 * setns(2) itself, so `--netns NAME` re-executes sctpdiag inside the namespace
 * with `ip netns exec NAME` (and `--netns-pid PID` with `nsenter --net=…`),
 * argv passed as an array — never through a shell. The child learns its
 * namespace's name from SCTPDIAG_NETNS, which it believes only when it really
 * runs in that namespace (an inherited or forged value is ignored).
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { EXIT, SctpdiagError, usageError } from './errors.js';
import { IN_SINGLE_EXECUTABLE } from './package-files.js';

export const NETNS_DIR = '/run/netns';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validateNetnsName(name: string): string {
  if (!NAME.test(name) || name === '.' || name === '..')
    throw usageError(`--netns: invalid namespace name ${JSON.stringify(name)}`, 'names are letters, digits, "_", "." and "-", as `ip netns list` shows them');
  return name;
}

export async function listNetns(dir = NETNS_DIR): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => NAME.test(n)).sort();
  } catch {
    return [];
  }
}

export async function assertNetnsExists(name: string, dir = NETNS_DIR): Promise<void> {
  const st = await stat(`${dir}/${name}`).catch(() => null);
  if (!st) {
    const known = await listNetns(dir);
    throw new SctpdiagError(
      `network namespace ${JSON.stringify(name)} does not exist`,
      EXIT.NOT_FOUND,
      known.length ? `known namespaces: ${known.join(', ')}` : 'no named namespaces (see `ip netns list`)',
    );
  }
}

/** Remove `--netns X`, `--netns=X`, `-n X`, `-nX`, `--netns-pid X`, `--all-netns` from an argv. */
export function stripNetnsArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--netns' || a === '-n' || a === '--netns-pid') {
      i++;
      continue;
    }
    if (a.startsWith('--netns=') || a.startsWith('--netns-pid=') || /^-n./.test(a) || a === '--all-netns') continue;
    out.push(a);
  }
  return out;
}

export type NetnsTarget = { kind: 'name'; name: string } | { kind: 'pid'; pid: number };

/** The SCTPDIAG_NETNS label of a target (also what output names it by). */
export const netnsLabel = (target: NetnsTarget): string => (target.kind === 'name' ? target.name : `pid:${target.pid}`);

/** How to start sctpdiag again: the single executable is itself; otherwise `node [flags] script.js`. */
export function selfCommand(): string[] {
  return IN_SINGLE_EXECUTABLE ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1]!];
}

/** The command that runs argv inside the target namespace. */
export function netnsCommand(target: NetnsTarget, argv: readonly string[]): { file: string; args: string[]; label: string } {
  const self = [...selfCommand(), ...argv];
  if (target.kind === 'name') return { file: 'ip', args: ['netns', 'exec', target.name, ...self], label: netnsLabel(target) };
  return { file: 'nsenter', args: [`--net=/proc/${target.pid}/ns/net`, '--', ...self], label: netnsLabel(target) };
}

/** The namespace file a SCTPDIAG_NETNS label names: `NAME` under /run/netns, `pid:PID` → /proc/PID/ns/net. */
function labelFile(label: string, dir: string, procRoot: string): string | null {
  const pid = /^pid:([1-9]\d{0,9})$/.exec(label);
  if (pid) return `${procRoot}/${pid[1]}/ns/net`;
  return NAME.test(label) ? `${dir}/${label}` : null;
}

/**
 * The namespace this process was started in by a --netns hop (SCTPDIAG_NETNS),
 * or null. The label is believed only if its namespace file is the one we run
 * in (same device and inode as /proc/self/ns/net): an inherited or forged
 * value must neither suppress the hop nor put a false name on the output.
 */
export function currentNetns(env: NodeJS.ProcessEnv = process.env, dir = NETNS_DIR, procRoot = '/proc'): string | null {
  const label = env['SCTPDIAG_NETNS'];
  if (!label) return null;
  const file = labelFile(label, dir, procRoot);
  if (file === null) return null;
  try {
    const want = statSync(file);
    const self = statSync(`${procRoot}/self/ns/net`);
    return want.dev === self.dev && want.ino === self.ino ? label : null;
  } catch {
    return null;
  }
}

export interface ChildResult {
  code: number;
  stdout?: string;
  stderr?: string;
}

/**
 * Run sctpdiag inside a namespace. With `capture`, collect output (for
 * --all-netns merging); otherwise the child shares our terminal and signals
 * are forwarded so nothing is orphaned.
 */
export function runInNetns(target: NetnsTarget, argv: readonly string[], capture = false): Promise<ChildResult> {
  const { file, args, label } = netnsCommand(target, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, SCTPDIAG_NETNS: label },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    if (!capture) for (const [s, h] of handlers) process.on(s, h);
    child.on('error', (e) => {
      for (const [s, h] of handlers) process.off(s, h);
      const code = (e as NodeJS.ErrnoException).code;
      reject(
        new SctpdiagError(
          code === 'ENOENT' ? `${file} is not installed (needed to enter a network namespace)` : `${file}: ${e.message}`,
          code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.FAILURE,
          file === 'ip' ? 'install iproute2' : 'install util-linux',
        ),
      );
    });
    child.on('close', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve({ code: code ?? (signal ? 128 + 15 : 1), stdout, stderr });
    });
  });
}
