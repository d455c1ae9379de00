/**
 * The sctpdiag command line: global options, the commands, and the single
 * exit path. Every failure leaves through main()'s catch: one line on stderr
 * (plus a hint), the documented exit code, no stack trace unless
 * SCTPDIAG_DEBUG is set. The executable is cli.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT, SctpdiagError, usageError } from './errors.js';
import { VERSION } from './package-files.js';
import type { NetnsTarget } from './netns.js';
import { parseHz, parsePid } from './commands/options.js';
import { escapeControl } from './render/escape.js';

/** The commands in help order, each loaded when named (help, a mistyped or a missing name load them all). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  status: async () => (await import('./commands/status.js')).statusCommand(),
  capture: async () => (await import('./commands/capture.js')).captureCommand(),
  trace: async () => (await import('./commands/trace.js')).traceCommand(),
  top: async () => (await import('./commands/top.js')).topCommand(),
  sysctl: async () => (await import('./commands/sysctl.js')).sysctlCommand(),
  tune: async () => (await import('./commands/tune.js')).tuneCommand(),
  'failover-time': async () => (await import('./commands/failover-time.js')).failoverTimeCommand(),
  drill: async () => (await import('./commands/drill.js')).drillCommand(),
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand(),
  metrics: async () => (await import('./commands/metrics.js')).metricsCommand(),
};

/** global options that take a value as the next word (keep equal to buildProgram's declarations; a test checks) */
export const VALUED_GLOBALS: ReadonlySet<string> = new Set(['-n', '--netns', '--netns-pid', '--proc-root', '--hz']);

/** The command argv names (the first word that is not a global option or its value), if any. */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (VALUED_GLOBALS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** `sctpdiag --version` (no command named): commander answers it before any command would run. */
const VERSION_ONLY = Symbol('version only');

/** The command argv names, VERSION_ONLY for a bare version request (no command, no help), else undefined. */
function wanted(argv: readonly string[]): string | typeof VERSION_ONLY | undefined {
  const name = commandName(argv);
  if (name !== undefined) return name;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return undefined;
    if (VALUED_GLOBALS.has(a)) i++;
    else if (a === '-V' || a === '--version') version = true;
  }
  return version ? VERSION_ONLY : undefined;
}

/** The command line with every command, only `only` when it names one, or none for a bare --version. */
export async function buildProgram(only?: string | typeof VERSION_ONLY): Promise<Command> {
  const program = new Command('sctpdiag')
    .description('kernel SCTP diagnostics and tuning: associations, paths, live events, sysctl profiles')
    .version(VERSION, '-V, --version')
    .option('-j, --json', 'machine-readable JSON output (schemaVersion inside)')
    .option('-n, --netns <name>', 'run inside this named network namespace (as `ip netns` names it; needs root)')
    .option('--netns-pid <pid>', "run inside the network namespace of this process (needs root)")
    .option('--proc-root <dir>', 'read this directory instead of /proc (a `sctpdiag capture`)')
    .addOption(new Option('--hz <n>', 'kernel CONFIG_HZ, when it cannot be detected').argParser(parseHz))
    .option('--no-color', 'never colour the output (also: NO_COLOR, or output not a terminal)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  const names = only === VERSION_ONLY ? [] : only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const c of await Promise.all(names.map((n) => COMMANDS[n]!()))) program.addCommand(c);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** If --netns/--netns-pid was given, run ourselves inside that namespace and return its exit code. */
async function netnsHop(program: Command, argv: readonly string[]): Promise<number | null> {
  const o = program.opts<{ netns?: string; netnsPid?: string; procRoot?: string }>();
  if (o.netns === undefined && o.netnsPid === undefined) return null;
  // loaded only for a hop: it brings node:child_process, a few ms of every start
  const { assertNetnsExists, currentNetns, netnsLabel, runInNetns, stripNetnsArgs, validateNetnsName } = await import('./netns.js');
  if (o.netns !== undefined && o.netnsPid !== undefined) throw usageError('--netns and --netns-pid exclude each other');
  if (o.procRoot !== undefined) throw usageError('--netns reads a live namespace; it cannot be combined with --proc-root');
  let target: NetnsTarget;
  if (o.netns !== undefined) {
    target = { kind: 'name', name: validateNetnsName(o.netns) };
    await assertNetnsExists(target.name);
  } else {
    target = { kind: 'pid', pid: parsePid(o.netnsPid!) };
  }
  if (currentNetns() === netnsLabel(target)) return null; // this process is the hop's child, already inside
  const { requirePrivilege } = await import('./kernel/privileges.js');
  requirePrivilege('netns', 'entering a network namespace needs root with CAP_SYS_ADMIN', 'run with sudo, or use --proc-root /proc/PID for read-only status');
  const res = await runInNetns(target, stripNetnsArgs(argv));
  return res.code;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const program = await buildProgram(wanted(argv));
  try {
    // parse global options first, so --netns can hop before any command runs
    let hopped: number | null = null;
    program.hook('preSubcommand', async () => {
      hopped = await netnsHop(program, argv);
      if (hopped !== null) throw new HopDone(hopped);
    });
    await program.parseAsync([...argv], { from: 'user' });
    // a command may leave its exit code in process.exitCode; keep it
    const code = Number(process.exitCode ?? EXIT.OK);
    return Number.isInteger(code) ? code : EXIT.FAILURE;
  } catch (e) {
    return handleError(e);
  }
}

class HopDone extends Error {
  constructor(readonly code: number) {
    super('netns child finished');
  }
}

function handleError(e: unknown): number {
  if (e instanceof HopDone) return e.code;
  if (e instanceof CommanderError) {
    // help and version are successes; commander has already printed its message
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return EXIT.OK;
    return EXIT.USAGE;
  }
  if (e instanceof SctpdiagError) {
    // messages name paths and values from the command line and from files: no raw control characters
    process.stderr.write(`sctpdiag: ${escapeControl(e.message)}\n`);
    if (e.hint) process.stderr.write(`sctpdiag: hint: ${escapeControl(e.hint)}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`sctpdiag: internal error: ${escapeControl(err?.message ?? String(e))}\n`);
  if (process.env.SCTPDIAG_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  else process.stderr.write('sctpdiag: hint: set SCTPDIAG_DEBUG=1 for a stack trace, and report it\n');
  return EXIT.FAILURE;
}
