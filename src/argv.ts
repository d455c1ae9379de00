/**
 * The global options by shape, for the code that reads the command line
 * before commander (which is not light) is loaded: the early reads of a plain
 * `status` (procfs/prefetch.ts) and the choice of the one command module to
 * load (program.ts: commandName). program.ts declares the options; a test
 * holds these sets to its declarations.
 */

/** global options that take a value as the next word (or after `=`) */
export const VALUED_GLOBALS: ReadonlySet<string> = new Set(['-n', '--netns', '--netns-pid', '--proc-root', '--hz']);

/** global options that take no value */
export const FLAG_GLOBALS: ReadonlySet<string> = new Set(['-j', '--json', '--no-color']);
