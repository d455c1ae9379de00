/**
 * The probe files (probes/*.bt) and what this kernel lets us attach. Each file
 * declares in its header the events it produces and the probes it needs:
 *   // events: path.state
 *   // requires: kfunc:sctp:sctp_assoc_control_transport …
 * Capability detection: bpftrace on PATH, root, kernel probe support
 * (/sys/kernel/btf/sctp for kfuncs, tracefs for tracepoints), then
 * `bpftrace -l` for the exact functions. Files whose needs are all met run
 * together in one bpftrace process; the rest are reported (their event types
 * then come from the procfs diff).
 */
import { canUseBpf, ownCapEff } from '../kernel/privileges.js';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packageFile } from '../package-files.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { missingText, type SourceReason } from './sources.js';

export interface ProbeFile {
  name: string;
  file: string;
  text: string;
  events: EventType[];
  requires: string[];
}

export interface ProbeAvailability {
  name: string;
  events: EventType[];
  ok: boolean;
  /** required probes the kernel does not offer */
  missing: string[];
  /** why it cannot run (when !ok) */
  reason?: SourceReason;
}

export interface Capabilities {
  bpftrace: string | null;
  /** `bpftrace --version`, [major, minor, patch]; null when unknown */
  version?: BpftraceVersion | null;
  /** null when bpf can be used at all; otherwise why not */
  unavailable: string | null;
  /** the reason code of `unavailable` */
  unavailableReason?: SourceReason;
  probes: ProbeAvailability[];
}

export type BpftraceVersion = readonly [number, number, number];

/** "bpftrace v0.23.2" (or "bpftrace v0.17.0-dirty") → [0, 23, 2] */
export function parseBpftraceVersion(text: string): BpftraceVersion | null {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function atLeast(v: BpftraceVersion, major: number, minor: number): boolean {
  return v[0] !== major ? v[0] > major : v[1] >= minor;
}

/**
 * The syntax a bpftrace version accepts, from its changelog: fentry/fexit
 * aliases of kfunc/kretfunc from 0.20 (the only names later); `args.f` and
 * `delete(@m, k)` from 0.21 (0.27 refuses `args->f` and `delete(@m[k])`);
 * the config block's missing_probes from 0.21 (0.24 aborts on a probe that
 * fails to attach unless it says "warn").
 */
export interface Dialect {
  fentry: boolean;
  argsDot: boolean;
  deleteComma: boolean;
  missingProbesWarn: boolean;
}

export function dialectFor(v: BpftraceVersion | null | undefined): Dialect {
  // unknown version: the syntax of the oldest we support (0.17's, as the probes are written)
  if (!v) return { fentry: false, argsDot: false, deleteComma: false, missingProbesWarn: false };
  return { fentry: atLeast(v, 0, 20), argsDot: atLeast(v, 0, 21), deleteComma: atLeast(v, 0, 21), missingProbesWarn: atLeast(v, 0, 21) };
}

/**
 * One probe file in the dialect of a bpftrace version. Line for line (a
 * compile error's line number still names the same source line).
 */
export function renderProbe(text: string, d: Dialect): string {
  let t = text;
  if (d.fentry) t = t.replace(/^kretfunc:/gm, 'fexit:').replace(/^kfunc:/gm, 'fentry:');
  if (d.argsDot) t = t.replace(/\bargs->/g, 'args.');
  if (d.deleteComma) t = t.replace(/\bdelete\((@[A-Za-z_][A-Za-z0-9_]*)\[([^\]\n]+)\]\)/g, 'delete($1, $2)');
  return t;
}

export const PROBES_DIR = packageFile('probes');

export function parseProbeHeader(text: string): { events: EventType[]; requires: string[] } {
  const events: EventType[] = [];
  const requires: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('//')) {
      if (line.trim() === '') continue;
      break;
    }
    const m = /^\/\/\s*(events|requires):\s*(.*)$/.exec(line);
    if (!m) continue;
    const items = m[2]!.trim().split(/\s+/).filter(Boolean);
    if (m[1] === 'events') {
      for (const i of items) if ((EVENT_TYPES as readonly string[]).includes(i)) events.push(i as EventType);
    } else requires.push(...items);
  }
  return { events, requires };
}

export function loadProbeFiles(dir = PROBES_DIR): ProbeFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bt'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return { name: f.replace(/\.bt$/, ''), file: join(dir, f), text, ...parseProbeHeader(text) };
    });
}

export function findOnPath(bin: string, path = process.env.PATH ?? ''): string | null {
  for (const d of path.split(delimiter)) {
    if (!d) continue;
    const p = join(d, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * `ip netns exec` gives sctpdiag a private mount namespace with a fresh sysfs:
 * no tracefs under /sys/kernel/{tracing,debug/tracing}, and bpftrace can then
 * neither list nor attach kfuncs/kprobes/tracepoints. bpf is not bound to a
 * netns (the probes filter by netns inode), so in that case bpftrace runs in
 * init's mount namespace: `nsenter --mount=/proc/1/ns/mnt --`.
 * Returns the argv prefix (empty when tracefs is visible here).
 */
export function hostMountPrefix(sysRoot = '/sys', procRoot = '/proc'): string[] {
  const tracefs = [`${sysRoot}/kernel/tracing/available_filter_functions`, `${sysRoot}/kernel/debug/tracing/available_filter_functions`];
  if (tracefs.some((f) => existsSync(f))) return [];
  let own: string, init: string;
  try {
    own = readlinkSync(`${procRoot}/self/ns/mnt`);
    init = readlinkSync(`${procRoot}/1/ns/mnt`);
  } catch {
    return [];
  }
  if (own === init) return [];
  const nsenter = findOnPath('nsenter');
  return nsenter ? [nsenter, `--mount=${procRoot}/1/ns/mnt`, '--'] : [];
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout) => resolve(String(stdout ?? '')));
  });
}

/** The probe names a `bpftrace -l` listing offers, normalised (kretfunc ≡ kfunc). */
export function listingSet(listing: string): Set<string> {
  const s = new Set<string>();
  for (const l of listing.split('\n')) {
    const t = l.trim();
    if (t) s.add(t);
  }
  return s;
}

export function normaliseRequirement(r: string): string {
  return r.replace(/^kretfunc:/, 'kfunc:').replace(/^fentry:/, 'kfunc:').replace(/^fexit:/, 'kfunc:');
}

/** Pure: which probe files can run, given what the kernel lists. */
export function assessProbes(files: readonly ProbeFile[], available: ReadonlySet<string>): ProbeAvailability[] {
  return files.map((f) => {
    const missing = [...new Set(f.requires.map(normaliseRequirement))].filter((r) => !available.has(r));
    return missing.length === 0 ? { name: f.name, events: f.events, ok: true, missing } : { name: f.name, events: f.events, ok: false, missing, reason: 'probe-missing' };
  });
}

export interface DetectOptions {
  bpftrace?: string | null;
  files?: ProbeFile[];
  /** for tests */
  capEff?: bigint | null;
  sysRoot?: string;
  procRoot?: string;
  /** /proc/kallsyms text (tests); null: unreadable */
  kallsyms?: string | null;
  /** bpftrace's version (tests); default: asked */
  version?: BpftraceVersion | null;
}

export async function detectCapabilities(o: DetectOptions = {}): Promise<Capabilities> {
  const files = o.files ?? loadProbeFiles();
  const none = (unavailable: string, reason: SourceReason, bpftrace: string | null = null): Capabilities => ({
    bpftrace,
    unavailable,
    unavailableReason: reason,
    probes: files.map((f) => ({ name: f.name, events: f.events, ok: false, missing: f.requires, reason })),
  });
  const bt = o.bpftrace === undefined ? findOnPath('bpftrace') : o.bpftrace;
  if (!bt) return none('bpftrace is not installed (apt-get install bpftrace)', 'no-bpftrace');
  if (!canUseBpf(o.capEff !== undefined ? o.capEff : ownCapEff())) return none('bpftrace needs root (or CAP_BPF + CAP_PERFMON)', 'no-privileges', bt);
  const sys = o.sysRoot ?? '/sys';
  const btf = existsSync(`${sys}/kernel/btf/sctp`);
  const version = o.version !== undefined ? o.version : await bpftraceVersion(bt);
  const kprobes = existsSync(`${sys}/kernel/debug/kprobes`) || existsSync(`${sys}/kernel/tracing`) || existsSync(`${sys}/kernel/debug/tracing`);
  if (!btf && !kprobes) return none('the kernel offers neither BTF for the sctp module nor kprobes/tracepoints', 'no-kprobes', bt);
  // Which functions exist: /proc/kallsyms (fast, and readable inside `ip netns
  // exec`, where tracefs is not); `bpftrace -l` only when kallsyms is not
  // readable. kprobe programs cast to sctp structs, so they need the BTF too.
  const ksyms = o.kallsyms !== undefined ? o.kallsyms : await readFile(`${o.procRoot ?? '/proc'}/kallsyms`, 'utf8').catch(() => null);
  let avail: Set<string>;
  if (ksyms && ksyms.includes('[sctp]')) {
    avail = kallsymsProbes(ksyms, btf);
  } else {
    const prefix = o.sysRoot === undefined ? hostMountPrefix() : [];
    const list = (pattern: string) => (prefix.length ? run(prefix[0]!, [...prefix.slice(1), bt, '-l', pattern], 120_000) : run(bt, ['-l', pattern], 120_000));
    const kf = btf ? await list('kfunc:sctp:*') : '';
    const kp = btf ? await list('kprobe:sctp_*') : '';
    const tp = await list('tracepoint:sctp:*');
    avail = listingSet(kf + '\n' + kp + '\n' + tp);
  }
  if (avail.size === 0) return { ...none('bpftrace lists no sctp probes (module not loaded, or no BTF: /sys/kernel/btf/sctp)', 'probe-missing', bt), version };
  const probes = assessProbes(files, avail);
  if (!btf) {
    // sctp's structs are in the module's BTF (kernel 5.11+); without it every probe that
    // reads one needs the kernel headers, which today's probes do not include
    const why = `no BTF for the sctp module (${sys}/kernel/btf/sctp; kernels before 5.11 have none)`;
    for (const p of probes) {
      const f = files.find((x) => x.name === p.name);
      if (p.ok && f && /\bstruct sctp_|\bargs->/.test(f.text)) {
        p.ok = false;
        p.missing.push(why);
        p.reason = 'no-btf';
      } else if (!p.ok) {
        p.missing.push(why);
        p.reason = 'no-btf';
      }
    }
  }
  return { bpftrace: bt, version, unavailable: null, probes };
}

/** Probe names offered, from /proc/kallsyms text (symbols of the sctp module). */
export function kallsymsProbes(text: string, btf: boolean): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.endsWith('[sctp]')) continue;
    const parts = line.split(/\s+/);
    const type = parts[1];
    const name = parts[2];
    if (!name || !type) continue;
    if (name.startsWith('__tracepoint_sctp_')) out.add(`tracepoint:sctp:${name.slice('__tracepoint_'.length)}`);
    else if ((type === 't' || type === 'T') && btf && !name.startsWith('__pfx_')) {
      out.add(`kprobe:${name}`);
      out.add(`kfunc:sctp:${name}`);
    }
  }
  return out;
}

/**
 * Per event type, where it comes from while these probe files run, and why
 * not bpf, types that share a reason together: "procfs for path.state,
 * path.primary (no BTF …)". Empty when bpf covers all.
 */
export function procfsWhy(unavailable: readonly { name: string; missing: string[] }[], files: readonly ProbeFile[], running: readonly string[]): string {
  const live = new Set(files.filter((f) => running.includes(f.name)).flatMap((f) => f.events));
  const byReason = new Map<string, string[]>();
  for (const u of unavailable) {
    const types = (files.find((f) => f.name === u.name)?.events ?? []).filter((t) => !live.has(t));
    const why = missingText(u.missing);
    if (types.length) byReason.set(why, [...(byReason.get(why) ?? []), ...types]);
  }
  return [...byReason].map(([why, types]) => `procfs for ${types.join(', ')} (${why})`).join('; ');
}

export interface Program {
  text: string;
  /** first line (1-based) of each file in `text`, in order */
  starts: { name: string; line: number }[];
}

/** One program text from the selected probe files (ours only: no user text, ever), in a version's dialect. */
export function buildProgram(files: readonly ProbeFile[], version?: BpftraceVersion | null): string {
  return layoutProgram(files, version).text;
}

export function layoutProgram(files: readonly ProbeFile[], version?: BpftraceVersion | null): Program {
  const d = dialectFor(version);
  const parts: string[] = [];
  const starts: Program['starts'] = [];
  let line = 1;
  if (d.missingProbesWarn) {
    // a probe this kernel cannot attach must not take the others down
    parts.push('config = { missing_probes = "warn" }');
    line++;
  }
  for (const f of files) {
    const body = `// ---- ${f.name}.bt\n${renderProbe(f.text, d)}`;
    starts.push({ name: f.name, line });
    parts.push(body);
    line += body.split('\n').length;
  }
  return { text: parts.join('\n'), starts };
}

/**
 * The probe file a bpftrace error is about: `stdin:LINE:COL: ERROR …` names a
 * line of the program (-e is "stdin"; other names are bpftrace's own library);
 * else the source line it quotes, or the probe it could not attach. Null when
 * none of these points at one file.
 */
export function failingProbe(stderr: string, p: Program, files: readonly ProbeFile[]): string | null {
  // only the first error's own lines: bpftrace quotes source lines in warnings too
  const all = stderr.split('\n');
  const at = all.findIndex((l) => /\bERROR\b/.test(l));
  if (at < 0) return null;
  const block: string[] = [all[at]!];
  for (const l of all.slice(at + 1)) {
    if (/\b(?:ERROR|WARNING)\b/.test(l)) break;
    block.push(l);
  }
  stderr = block.join('\n');
  const m = /^stdin:(\d+):\d+/m.exec(stderr);
  if (m) {
    const line = Number(m[1]);
    let hit: string | null = null;
    for (const s of p.starts) if (s.line <= line) hit = s.name;
    if (hit) return hit;
  }
  // the quoted source line, found in exactly one file of the program
  const lines = p.text.split('\n');
  for (const q of stderr.split('\n').map((l) => l.replace(/^[\s|>]+/, '').trim())) {
    if (q.length < 12 || !/[;{}()]/.test(q)) continue;
    const owners = new Set<string>();
    lines.forEach((l, i) => {
      if (l.trim() !== q) return;
      let name: string | null = null;
      for (const s of p.starts) if (s.line <= i + 1) name = s.name;
      if (name) owners.add(name);
    });
    if (owners.size === 1) return [...owners][0]!;
  }
  const a = /(?:attach|find|resolve)[^\n]*?\b((?:kfunc|kretfunc|fentry|fexit|kprobe|kretprobe|tracepoint):[\w:]+)/i.exec(stderr);
  if (a) {
    const fn = a[1]!.split(':').pop()!;
    const f = files.find((x) => new RegExp(`^(?:k(?:ret)?func|fentry|fexit|k(?:ret)?probe|tracepoint)(?::sctp)?:${fn}\\b`, 'm').test(x.text));
    if (f) return f.name;
  }
  return null;
}

/** bpftrace's version (`bpftrace --version`); null when it does not say. */
export async function bpftraceVersion(bt: string): Promise<BpftraceVersion | null> {
  return parseBpftraceVersion(await run(bt, ['--version'], 20_000));
}
