/**
 * The probe files (probes/*.bt) and what this kernel lets us attach. A file's header declares the events
 * it produces (`// events:`), the probes it needs (`// requires:`) and its kfuncs' prototypes
 * (`// kprobe-args:`, for its kprobe variant on kernels without module BTF).
 */
import { allowed } from '../kernel/privileges.js';
import { INITIAL_SYS_ROOT, kprobeFiles, tracefsFiles } from '../kernel/tracefs.js';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { delimiter, join } from 'node:path';
import { packageFile } from '../package-files.js';
import { EVENT_TYPES, type EventType, type SourceReason } from '../events/types.js';
import { missingText } from './sources.js';

export interface ProbeFile {
  name: string;
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
  /** no BTF for the sctp module: the probes run as kprobe variants with the kernel headers */
  kprobes?: boolean;
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
  /** string literals (printf formats) of at most 63 bytes: 0.11 refuses longer ones; 0.17 takes them */
  shortLiterals: boolean;
}

export function dialectFor(v: BpftraceVersion | null | undefined): Dialect {
  // unknown version: the syntax the probes are written in (0.17's)
  v ??= [0, 17, 0];
  return {
    fentry: atLeast(v, 0, 20),
    argsDot: atLeast(v, 0, 21),
    deleteComma: atLeast(v, 0, 21),
    missingProbesWarn: atLeast(v, 0, 21),
    shortLiterals: !atLeast(v, 0, 17),
  };
}

/** One probe file in a bpftrace version's dialect, line for line (an error's line number names the source line). */
export function renderProbe(text: string, d: Dialect): string {
  let t = d.shortLiterals ? splitPrintfs(text) : text;
  if (d.fentry) t = t.replace(/^kretfunc:/gm, 'fexit:').replace(/^kfunc:/gm, 'fentry:');
  if (d.argsDot) t = t.replace(/\bargs->/g, 'args.');
  if (d.deleteComma) t = t.replace(/\bdelete\((@[A-Za-z_][A-Za-z0-9_]*)\[([^\]\n]+)\]\)/g, 'delete($1, $2)');
  return t;
}

/** Longest printf format a chunk may have on bpftrace < 0.17 (it refuses literals over 63 bytes). */
const CHUNK_FORMAT_MAX = 62;

/** Split a printf argument list at its top-level commas. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Each `printf("SCTPDIAG tag k=%u …\n", …);` whose format is too long for an old
 * bpftrace, as several printfs of `SCTPDIAG+ <tid> <i> <n> <part>` that
 * ChunkJoiner puts back together (one thread's chunks arrive in order). Line
 * for line: the chunks take the statement's first line, its other lines stay empty.
 */
export function splitPrintfs(text: string): string {
  return text.replace(/printf\("(SCTPDIAG [^"]*?)(?:\\n)?",([\s\S]*?)\);/g, (whole: string, fmt: string, argText: string) => {
    if (fmt.length + 2 <= CHUNK_FORMAT_MAX) return whole;
    const args = splitArgs(argText.replace(/\n/g, ' '));
    const tokens = fmt.split(' ').slice(1);
    const fields: { fmt: string; args: string[] }[] = [];
    let next = 0;
    for (const tok of tokens) {
      const n = (tok.match(/%[a-z]+/g) ?? []).length;
      fields.push({ fmt: tok, args: args.slice(next, next + n) });
      next += n;
    }
    if (next !== args.length) return whole; // not ours to split: bpftrace names the mismatch
    const head = (i: number, n: number) => `SCTPDIAG+ %u ${i} ${n} `;
    const chunks: (typeof fields)[] = [[]];
    for (const f of fields) {
      const c = chunks[chunks.length - 1]!;
      const len = head(9, 9).length + [...c, f].map((x) => x.fmt).join(' ').length + 2;
      if (c.length > 0 && len > CHUNK_FORMAT_MAX) chunks.push([f]);
      else c.push(f);
    }
    const stmts = chunks.map(
      (c, i) => `printf("${head(i + 1, chunks.length)}${c.map((x) => x.fmt).join(' ')}\\n", tid${c.flatMap((x) => x.args).map((a) => `, ${a}`).join('')});`,
    );
    return stmts.join(' ') + '\n'.repeat(whole.split('\n').length - 1);
  });
}

/** The chunks of splitPrintfs, joined per thread into the one `SCTPDIAG tag …` line they were (bounded: 1024 threads in flight). */
export class ChunkJoiner {
  private pending = new Map<string, { next: number; n: number; parts: string[] }>();
  /** chunks that arrived out of order or unfinished and were dropped */
  dropped = 0;

  /** A printf's text: the joined line when it completes one (or is not a chunk), else null. */
  add(text: string): string | null {
    if (!text.startsWith('SCTPDIAG+ ')) return text;
    const m = /^SCTPDIAG\+ (\d{1,10}) (\d) (\d) ([^\n]*)\n?$/.exec(text);
    if (!m) {
      this.dropped++;
      return null;
    }
    const [, tid, i, n, part] = m as unknown as [string, string, string, string, string];
    const idx = Number(i);
    let p = this.pending.get(tid);
    if (idx === 1) {
      if (p) this.dropped++;
      p = { next: 1, n: Number(n), parts: [] };
      this.pending.delete(tid);
      this.pending.set(tid, p);
      if (this.pending.size > 1024) {
        this.pending.delete(this.pending.keys().next().value!);
        this.dropped++;
      }
    }
    if (!p || idx !== p.next || Number(n) !== p.n) {
      this.dropped++;
      this.pending.delete(tid);
      return null;
    }
    p.parts.push(part);
    p.next++;
    if (idx < p.n) return null;
    this.pending.delete(tid);
    return `SCTPDIAG ${p.parts.join(' ')}\n`;
  }
}

/** `// kprobe-args: f(struct sctp_association *asoc, int command)` → f → its parameters in order. */
export function parseKprobeArgs(text: string): Map<string, { name: string; type: string }[]> {
  const out = new Map<string, { name: string; type: string }[]>();
  for (const m of text.matchAll(/^\/\/\s*kprobe-args:\s*(\w+)\(([^)]*)\)\s*$/gm)) {
    out.set(
      m[1]!,
      m[2]!.split(',').map((p) => {
        const a = /^(.*?)(\w+)$/.exec(p.trim())!;
        return { name: a[2]!, type: a[1]!.trim() };
      }),
    );
  }
  return out;
}

/**
 * A probe file for a kernel whose sctp module has no BTF (before 5.11; the structs come from the kernel
 * headers): `kfunc:sctp:F` → `kprobe:F`, `args->x` → `((type)argN)` from the `kprobe-args:` prototype;
 * `kretfunc:sctp:F` → `kretprobe:F`, reading the arguments F's entry saved per thread. Line for line;
 * null when a kfunc's prototype is not declared.
 */
export function kprobeVariant(text: string): string | null {
  const protos = parseKprobeArgs(text);
  const lines = text.split('\n');
  const blocks: { kind: 'entry' | 'ret'; fn: string; start: number; end: number }[] = [];
  lines.forEach((l, i) => {
    // a block ends where the next probe (of any kind) begins
    const last = blocks[blocks.length - 1];
    if (last && /^[a-z]+:\S/.test(l)) last.end = Math.min(last.end, i);
    const m = /^(kfunc|kretfunc):sctp:(\w+)\s*$/.exec(l);
    if (m) blocks.push({ kind: m[1] === 'kfunc' ? 'entry' : 'ret', fn: m[2]!, start: i, end: lines.length });
  });
  for (const b of blocks) {
    const params = protos.get(b.fn);
    if (!params) return null;
    const arg = (name: string): { i: number; type: string } | null => {
      const i = params.findIndex((p) => p.name === name);
      return i < 0 ? null : { i, type: params[i]!.type };
    };
    const saved = (name: string) => `@sctpdiag_kp_${name}[tid]`;
    let bad = false;
    const body = (l: string) =>
      l.replace(/\bargs->(\w+)/g, (_all, name: string) => {
        const a = arg(name);
        if (!a) {
          bad = true;
          return _all;
        }
        const v = b.kind === 'entry' ? `arg${a.i}` : saved(name);
        return a.type.endsWith('*') ? `((${a.type})${v})` : v;
      });
    if (b.kind === 'ret') {
      const entry = blocks.find((e) => e.kind === 'entry' && e.fn === b.fn);
      if (!entry) return null;
      const used = [...new Set([...lines.slice(b.start, b.end).join('\n').matchAll(/\bargs->(\w+)/g)].map((m) => m[1]!))];
      const open = lines.slice(entry.start, entry.end).findIndex((l) => l.trim() === '{');
      const fromEnd = lines.slice(b.start, b.end).reverse().findIndex((l) => l.trim() === '}');
      if (open < 0 || fromEnd < 0 || used.some((n) => !arg(n))) return null;
      const close = b.end - b.start - 1 - fromEnd;
      // saved at entry, deleted at return: on the lines of the braces (line for line)
      lines[entry.start + open] = `{ ${used.map((n) => `${saved(n)} = arg${arg(n)!.i};`).join(' ')}`;
      lines[b.start + close] = `  ${used.map((n) => `delete(${saved(n)});`).join(' ')} }`;
    }
    for (let i = b.start + 1; i < b.end; i++) lines[i] = body(lines[i]!);
    if (bad) return null;
    lines[b.start] = b.kind === 'entry' ? `kprobe:${b.fn}` : `kretprobe:${b.fn}`;
  }
  return lines.join('\n');
}

export const PROBES_DIR = packageFile('probes');

/** a probe file with kfunc/kretfunc probes (which need the module's BTF, or a kprobe variant) */
const KFUNCS = /^(kfunc|kretfunc):/m;

export function parseProbeHeader(text: string): { events: EventType[]; requires: string[] } {
  const events: EventType[] = [];
  const requires: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!line.startsWith('//')) break;
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
      return { name: f.replace(/\.bt$/, ''), text, ...parseProbeHeader(text) };
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
  if (tracefsFiles(sysRoot, 'available_filter_functions').some((f) => existsSync(f))) return [];
  try {
    if (readlinkSync(`${procRoot}/self/ns/mnt`) === readlinkSync(`${procRoot}/1/ns/mnt`)) return [];
  } catch {
    return [];
  }
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
  return new Set(listing.split('\n').map((l) => l.trim()).filter(Boolean));
}

export function normaliseRequirement(r: string): string {
  return r.replace(/^(?:kretfunc|fentry|fexit):/, 'kfunc:');
}

/** Pure: which probe files can run, given what the kernel lists. */
export function assessProbes(files: readonly ProbeFile[], available: ReadonlySet<string>): ProbeAvailability[] {
  return files.map((f) => {
    const missing = [...new Set(f.requires.map(normaliseRequirement))].filter((r) => !available.has(r));
    return missing.length === 0 ? availability(f, missing) : availability(f, missing, 'probe-missing');
  });
}

/** A probe file that can run (no reason) or cannot (why, and what is missing). */
function availability(f: ProbeFile, missing: string[], reason?: SourceReason): ProbeAvailability {
  return reason
    ? { name: f.name, events: f.events, ok: false, missing, reason }
    : { name: f.name, events: f.events, ok: true, missing };
}

export interface DetectOptions {
  bpftrace?: string | null;
  files?: ProbeFile[];
  /** this process's effective capabilities (tests); default: read */
  capEff?: bigint | null;
  sysRoot?: string;
  procRoot?: string;
  /** /proc/kallsyms text (tests); null: unreadable */
  kallsyms?: string | null;
  /** bpftrace's version (tests); default: asked */
  version?: BpftraceVersion | null;
  /** the kernel release and whether its headers are installed (tests); default: this kernel's */
  release?: string;
  headers?: boolean;
}

export async function detectCapabilities(o: DetectOptions = {}): Promise<Capabilities> {
  const files = o.files ?? loadProbeFiles();
  const none = (unavailable: string, reason: SourceReason, bpftrace: string | null = null): Capabilities => ({
    bpftrace,
    unavailable,
    unavailableReason: reason,
    probes: files.map((f) => availability(f, f.requires, reason)),
  });
  const bt = o.bpftrace === undefined ? findOnPath('bpftrace') : o.bpftrace;
  if (!bt) return none('bpftrace is not installed (apt-get install bpftrace)', 'no-bpftrace');
  const who = o.capEff === undefined ? undefined : { uid: process.getuid?.() ?? -1, capEff: o.capEff };
  if (!allowed('bpf', who)) return none('bpftrace needs root (or CAP_BPF + CAP_PERFMON)', 'no-privileges', bt);
  const sys = o.sysRoot ?? '/sys';
  const btf = existsSync(`${sys}/kernel/btf/sctp`);
  const version = o.version !== undefined ? o.version : await bpftraceVersion(bt);
  // under `ip netns exec` bpftrace runs in the initial mount namespace (hostMountPrefix), so its tracefs counts
  const sysRoots = o.sysRoot === undefined ? [sys, INITIAL_SYS_ROOT] : [sys];
  const kprobes = sysRoots.some((r) => existsSync(`${r}/kernel/debug/kprobes`) || [...kprobeFiles(r), ...tracefsFiles(r, '')].some((f) => existsSync(f)));
  if (!btf && !kprobes) return none('the kernel offers neither BTF for the sctp module nor kprobes/tracepoints', 'no-kprobes', bt);
  // which functions exist: /proc/kallsyms (fast, and readable inside `ip netns exec`, where tracefs is not)
  const ksyms = o.kallsyms !== undefined ? o.kallsyms : await readFile(`${o.procRoot ?? '/proc'}/kallsyms`, 'utf8').catch(() => null);
  let avail: Set<string>;
  if (ksyms && ksyms.includes('[sctp]')) {
    avail = kallsymsProbes(ksyms, btf);
  } else {
    const prefix = o.sysRoot === undefined ? hostMountPrefix() : [];
    const [cmd, ...args] = [...prefix, bt];
    const patterns = [...(btf ? ['kfunc:sctp:*'] : []), 'kprobe:sctp_*', 'tracepoint:sctp:*'];
    let listing = '';
    for (const pattern of patterns) listing += '\n' + (await run(cmd!, [...args, '-l', pattern], 120_000));
    avail = listingSet(listing);
  }
  if (avail.size === 0) return { ...none('bpftrace lists no sctp probes (module not loaded, or no BTF: /sys/kernel/btf/sctp)', 'probe-missing', bt), version };
  if (btf) return { bpftrace: bt, version, unavailable: null, probes: assessProbes(files, avail) };
  // sctp's structs are in the module's BTF (kernel 5.11+); without it a probe that reads
  // one runs as its kprobe variant, which takes them from the kernel headers
  const release = o.release ?? osRelease();
  const headers = o.headers ?? kernelHeaders(release);
  const noBtf = `no BTF for the sctp module (${sys}/kernel/btf/sctp; kernels before 5.11 have none)`;
  const probes = files.map((f): ProbeAvailability => {
    const variant = KFUNCS.test(f.text) ? kprobeVariant(f.text) !== null : true;
    // the variant's kprobes: kfunc:sctp:F → kprobe:F
    const needs = [...new Set(f.requires.map((r) => normaliseRequirement(r).replace(/^kfunc:sctp:/, 'kprobe:')))];
    const missing = needs.filter((r) => !avail.has(r));
    const structs = /\bstruct sctp_|\bargs->/.test(f.text);
    if (missing.length) return availability(f, missing, 'probe-missing');
    if (!structs) return availability(f, []);
    if (!variant) return availability(f, [noBtf], 'no-btf');
    if (!headers)
      return availability(f, [`${noBtf} and no kernel headers for ${release} (apt-get install linux-headers-${release})`], 'no-headers');
    return availability(f, []);
  });
  return { bpftrace: bt, version, unavailable: null, probes, kprobes: headers };
}

/** The headers bpftrace's clang reads without BTF: /lib/modules/<release>/{source,build} (linux-headers-<release>). */
export function kernelHeaders(release: string, modules = '/lib/modules'): boolean {
  return ['source', 'build'].some((d) => existsSync(join(modules, release, d, 'include/net/sctp/structs.h')));
}

/** Probe names offered, from /proc/kallsyms text (symbols of the sctp module). */
export function kallsymsProbes(text: string, btf: boolean): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.endsWith('[sctp]')) continue;
    const [, type, name] = line.split(/\s+/);
    if (!name || !type) continue;
    if (name.startsWith('__tracepoint_sctp_')) out.add(`tracepoint:sctp:${name.slice('__tracepoint_'.length)}`);
    else if ((type === 't' || type === 'T') && !name.startsWith('__pfx_')) {
      out.add(`kprobe:${name}`);
      // a kfunc needs the module's BTF
      if (btf) out.add(`kfunc:sctp:${name}`);
    }
  }
  return out;
}

/** Why types come from procfs while these files run, by reason: "procfs for path.state, path.primary (no BTF …)". */
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

/** The header the kprobe variants read sctp's structs from (with no module BTF). */
export const SCTP_STRUCTS_INCLUDE = '#include <net/sctp/structs.h>';

/** `kprobes`: no BTF for the sctp module; the kprobe variants with the kernel headers. */
export function layoutProgram(files: readonly ProbeFile[], version?: BpftraceVersion | null, kprobes = false): Program {
  const d = dialectFor(version);
  const parts: string[] = [];
  const starts: Program['starts'] = [];
  let line = 1;
  if (kprobes) {
    parts.push(SCTP_STRUCTS_INCLUDE);
    line++;
  }
  if (d.missingProbesWarn) {
    // a probe this kernel cannot attach must not take the others down
    parts.push('config = { missing_probes = "warn" }');
    line++;
  }
  for (const f of files) {
    const text = kprobes && KFUNCS.test(f.text) ? (kprobeVariant(f.text) ?? f.text) : f.text;
    const body = `// ---- ${f.name}.bt\n${renderProbe(text, d)}`;
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
  const end = all.findIndex((l, i) => i > at && /\b(?:ERROR|WARNING)\b/.test(l));
  stderr = all.slice(at, end < 0 ? undefined : end).join('\n');
  // the file a line of the program is in (starts are in order)
  const fileAt = (line: number): string | null => {
    let name: string | null = null;
    for (const s of p.starts) if (s.line <= line) name = s.name;
    return name;
  };
  const m = /^stdin:(\d+):\d+/m.exec(stderr);
  const hit = m ? fileAt(Number(m[1])) : null;
  if (hit) return hit;
  // the quoted source line, found in exactly one file of the program
  const lines = p.text.split('\n');
  for (const q of stderr.split('\n').map((l) => l.replace(/^[\s|>]+/, '').trim())) {
    if (q.length < 12 || !/[;{}()]/.test(q)) continue;
    const owners = new Set<string>();
    lines.forEach((l, i) => {
      const name = l.trim() === q ? fileAt(i + 1) : null;
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

export async function bpftraceVersion(bt: string): Promise<BpftraceVersion | null> {
  return parseBpftraceVersion(await run(bt, ['--version'], 20_000));
}
