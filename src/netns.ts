/**
 * Network namespaces. procfs and sysctls are per netns, and Node cannot
 * setns(2) itself, so `--netns NAME` re-executes sctpdiag inside the namespace
 * with `ip netns exec NAME` (and `--netns-pid PID` with `nsenter --net=…`),
 * argv passed as an array — never through a shell. The child learns its
 * namespace's name from SCTPDIAG_NETNS.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { EXIT, SctpdiagError, usageError } from './errors.js';

export const NETNS_DIR = '/run/netns';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validateNetnsName(name: string): string {
  if (!NAME.test(name) || name === '.' || name === '..')
    throw usageError(`--netns: invalid namespace name ${JSON.stringify(name)}`, 'names are letters, digits, "_", "." and "-", as `ip netns list` shows them');
  return name;
}

export function validatePid(text: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 4194304)
    throw usageError(`--netns-pid: ${JSON.stringify(text)} is not a process id`);
  return Number(text);
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

/** Remove `--netns X`, `--netns=X`, `--netns-pid X`, `--all-netns` from an argv. */
export function stripNetnsArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--netns' || a === '--netns-pid') {
      i++;
      continue;
    }
    if (a.startsWith('--netns=') || a.startsWith('--netns-pid=') || a === '--all-netns') continue;
    out.push(a);
  }
  return out;
}

export type NetnsTarget = { kind: 'name'; name: string } | { kind: 'pid'; pid: number };

/** The command that runs argv inside the target namespace. */
export function netnsCommand(target: NetnsTarget, argv: readonly string[]): { file: string; args: string[]; label: string } {
  const self = [process.execPath, ...process.execArgv, process.argv[1]!, ...argv];
  if (target.kind === 'name') return { file: 'ip', args: ['netns', 'exec', target.name, ...self], label: target.name };
  return { file: 'nsenter', args: [`--net=/proc/${target.pid}/ns/net`, '--', ...self], label: `pid:${target.pid}` };
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
