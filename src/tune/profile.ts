/**
 * Tuning profiles: commented data files, one `key = value` a line.
 *
 *   # a comment block is the reason of the keys right below it (up to a blank line)
 *   description = one line shown by `tune --list`
 *   include = default              # another profile (user dir first, then shipped)
 *   include = shipped:telecom      # only the shipped one (lets a user profile extend its namesake)
 *   rto_min = 100                  # a trailing comment is a reason too
 *   net.sctp.rto_max = 1000        # the net.sctp. prefix is optional
 *
 * Included values are applied first (in include order); the file's own keys
 * override them. A key twice in one file, an unknown key, a bad value, a
 * malformed line or an include cycle is an error naming file and line.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { packageFile } from '../package-files.js';
import { EXIT, SctpdiagError, usageError } from '../errors.js';
import { lookupKey, shortName, validateValue, type KernelInfo } from '../kernel/sysctl-catalog.js';
import { readRegularFile, UnsafeFileError } from '../safefs.js';

/** a profile is a few dozen lines; anything this large is not one */
const PROFILE_MAX_BYTES = 256 * 1024;

export interface ProfileEntry {
  key: string;
  value: string;
  file: string;
  line: number;
  reason: string;
}

export interface ParsedProfile {
  file: string;
  description: string | null;
  includes: Array<{ name: string; line: number }>;
  entries: ProfileEntry[];
}

export interface ProfileDirs {
  /** operator profiles (override shipped ones): /etc/sctpdiag/profiles */
  user: string;
  /** shipped with the package: <package root>/profiles */
  shipped: string;
}

export interface ResolvedProfile {
  name: string;
  file: string;
  description: string | null;
  /** final values by short key name; each remembers where it was set */
  values: Map<string, ProfileEntry>;
  /** every file read, outermost first */
  files: string[];
}

export const PROFILE_EXT = '.conf';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function err(file: string, line: number, msg: string, code: typeof EXIT.USAGE | typeof EXIT.NOT_FOUND = EXIT.USAGE, hint?: string) {
  return new SctpdiagError(`${file}:${line}: ${msg}`, code, hint);
}

/** Parse one profile file's text. Throws SctpdiagError(USAGE) naming file:line. */
export function parseProfile(text: string, file: string, kernel: KernelInfo = {}): ParsedProfile {
  const out: ParsedProfile = { file, description: null, includes: [], entries: [] };
  const seen = new Map<string, number>();
  // a comment block is the reason of every key below it, up to a blank line or the next comment
  let pending: string[] = [];
  let afterKey = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') {
      pending = [];
      afterKey = false;
      return;
    }
    if (line.startsWith('#') || line.startsWith(';')) {
      if (afterKey) pending = [];
      afterKey = false;
      pending.push(line.replace(/^[#;]+\s?/, '').trim());
      return;
    }
    // trailing comment: a # preceded by whitespace
    const hash = line.search(/\s#/);
    const body = (hash >= 0 ? line.slice(0, hash) : line).trim();
    const trailing = hash >= 0 ? line.slice(hash).replace(/^\s*#+\s?/, '').trim() : '';
    const m = /^([A-Za-z0-9_./-]+)\s*=\s*(.*)$/.exec(body);
    // the line itself is not echoed: --profile-file may name a file that is not a profile (/etc/shadow under sudo)
    if (!m || m[1] === undefined || m[2] === undefined) throw err(file, lineNo, 'malformed line (expected "key = value")');
    const k = m[1];
    const v = m[2].trim();
    if (v === '') throw err(file, lineNo, `missing value for ${k}`);
    const reason = [...pending, trailing].filter(Boolean).join(' ');
    afterKey = true;
    if (k === 'include') {
      if (!NAME_RE.test(v.replace(/^shipped:/, ''))) throw err(file, lineNo, `bad profile name in include: ${JSON.stringify(v)}`);
      if (out.includes.some((x) => x.name === v)) throw err(file, lineNo, `duplicate include of ${v}`);
      out.includes.push({ name: v, line: lineNo });
      return;
    }
    if (k === 'description') {
      if (out.description !== null) throw err(file, lineNo, 'duplicate description');
      out.description = v;
      return;
    }
    const key = lookupKey(k);
    if (!key) throw err(file, lineNo, `unknown key ${(k.startsWith('net.') ? k : `net.sctp.${shortName(k)}`).slice(0, 80)}`, EXIT.USAGE, 'run `sctpdiag sysctl` for the known keys');
    const prev = seen.get(key.name);
    if (prev !== undefined) throw err(file, lineNo, `duplicate key ${key.name} (first set on line ${prev})`);
    seen.set(key.name, lineNo);
    const val = validateValue(key.name, v, kernel);
    if (!val.ok) throw err(file, lineNo, val.error);
    out.entries.push({ key: key.name, value: val.value, file, line: lineNo, reason });
  });
  return out;
}

export function defaultProfileDirs(env: NodeJS.ProcessEnv = process.env): ProfileDirs {
  return {
    user: env.SCTPDIAG_PROFILE_DIR ?? '/etc/sctpdiag/profiles',
    shipped: packageFile('profiles'),
  };
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Path of a profile by name (user dir first), or null. `shipped:NAME` looks only in the shipped dir. */
export async function findProfile(name: string, dirs: ProfileDirs): Promise<{ file: string; source: 'user' | 'shipped' } | null> {
  const shippedOnly = name.startsWith('shipped:');
  const bare = name.replace(/^shipped:/, '');
  if (!NAME_RE.test(bare)) return null;
  if (!shippedOnly) {
    const u = join(dirs.user, bare + PROFILE_EXT);
    if (await isFile(u)) return { file: u, source: 'user' };
  }
  const s = join(dirs.shipped, bare + PROFILE_EXT);
  if (await isFile(s)) return { file: s, source: 'shipped' };
  return null;
}

export interface ProfileListing {
  name: string;
  source: 'user' | 'shipped';
  file: string;
  description: string | null;
  /** a user profile hides a shipped one of the same name */
  overrides: boolean;
}

export async function listProfiles(dirs: ProfileDirs): Promise<ProfileListing[]> {
  const read = async (dir: string) => {
    try {
      return (await readdir(dir)).filter((f) => f.endsWith(PROFILE_EXT) && NAME_RE.test(basename(f, PROFILE_EXT))).sort();
    } catch {
      return [];
    }
  };
  const out = new Map<string, ProfileListing>();
  for (const [source, dir] of [['shipped', dirs.shipped], ['user', dirs.user]] as const) {
    for (const f of await read(dir)) {
      const name = basename(f, PROFILE_EXT);
      const file = join(dir, f);
      let description: string | null = null;
      try {
        const m = /^\s*description\s*=\s*(.*?)\s*$/m.exec(await readRegularFile(file, PROFILE_MAX_BYTES));
        description = m?.[1] ?? null;
      } catch {
        /* unreadable: listed without description */
      }
      out.set(name, { name, source, file, description, overrides: source === 'user' && out.has(name) });
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Load a profile by name (search path) or by file, following includes.
 * Unknown profile → NOT_FOUND; anything malformed → USAGE naming file:line.
 */
export async function loadProfile(
  ref: { name: string } | { file: string },
  dirs: ProfileDirs,
  kernel: KernelInfo = {},
): Promise<ResolvedProfile> {
  let top: string;
  let name: string;
  if ('file' in ref) {
    top = resolve(ref.file);
    name = basename(ref.file).replace(/\.conf$/, '');
    // readRegularFile() below says what is wrong: missing (exit 5), or a FIFO, device, directory, symlink (exit 2)
  } else {
    const found = await findProfile(ref.name, dirs);
    if (!found) throw new SctpdiagError(`unknown profile ${JSON.stringify(ref.name)}`, EXIT.NOT_FOUND, 'run `sctpdiag tune --list` for the available profiles');
    top = found.file;
    name = ref.name.replace(/^shipped:/, '');
  }
  const values = new Map<string, ProfileEntry>();
  const files: string[] = [];
  let description: string | null = null;

  const visit = async (file: string, stack: string[]): Promise<void> => {
    let text: string;
    try {
      // a regular file of sane size: never a FIFO, a device or a symlink to one
      text = await readRegularFile(file, PROFILE_MAX_BYTES);
    } catch (e) {
      if (e instanceof UnsafeFileError) throw new SctpdiagError(`profile: ${e.message}`, e.exitCode);
      throw e;
    }
    const parsed = parseProfile(text, file, kernel);
    if (file === top) description = parsed.description;
    files.push(file);
    for (const inc of parsed.includes) {
      const found = await findProfile(inc.name, dirs);
      if (!found) throw err(file, inc.line, `include of unknown profile ${JSON.stringify(inc.name)}`, EXIT.NOT_FOUND);
      if (stack.includes(found.file) || found.file === file)
        throw err(file, inc.line, `include cycle: ${[...stack, file, found.file].map((f) => basename(f)).join(' → ')}`);
      await visit(found.file, [...stack, file]);
    }
    for (const e of parsed.entries) values.set(e.key, e);
  };
  await visit(top, []);
  return { name, file: top, description, values, files };
}

/** Reject a NAME given on the command line that cannot be a profile name. */
export function checkProfileName(name: string): void {
  if (!NAME_RE.test(name.replace(/^shipped:/, ''))) throw usageError(`bad profile name ${JSON.stringify(name)}`, 'profile names are letters, digits, ".", "_" and "-"');
}
