/**
 * Parsers for /proc/net/sctp/{assocs,eps,remaddr,snmp} (net/sctp/proc.c).
 * Pure functions of text. Columns are found by the header line, never by a
 * fixed count: kernels before 4.x lack `wmema wmemq sndbuf rcvbuf`, and
 * unknown extra columns are skipped by name. A line that does not fit is
 * reported as a warning naming file and line, and skipped; nothing throws.
 */
import { fromKernel, type Address } from '../model/addr.js';
import type { AssocRow, EndpointRow, LocalAddrRow, Parsed, ParseWarning, RemaddrRow, RemoteAddrRow } from '../model/rows.js';

/** Addresses by kernel text, frozen and shared: the same ones recur in every row (bounded: emptied past CACHE_MAX). */
const CACHE_MAX = 1 << 16;
const addrCache = new Map<string, Readonly<Address> | null>();

function kernelAddress(token: string): Readonly<Address> | null {
  let a = addrCache.get(token);
  if (a === undefined) {
    const parsed = fromKernel(token);
    a = parsed && Object.freeze(parsed);
    if (addrCache.size >= CACHE_MAX) addrCache.clear();
    addrCache.set(token, a);
  }
  return a;
}

export type { AssocRow, EndpointRow, LocalAddrRow, Parsed, ParseWarning, RemaddrRow, RemoteAddrRow } from '../model/rows.js';

/** One line's tokens as offsets into its text, numbers read without a string per column; reused per line (never keep it). */
export class Tokens {
  text = '';
  count = 0;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);

  /** split text[from, to) at whitespace (any character ≤ U+0020) */
  reset(text: string, from: number, to: number): this {
    this.text = text;
    let n = 0;
    let i = from;
    for (;;) {
      while (i < to && text.charCodeAt(i) <= 32) i++;
      if (i >= to) break;
      const start = i;
      while (i < to && text.charCodeAt(i) > 32) i++;
      if (n === this.starts.length) this.grow();
      this.starts[n] = start;
      this.ends[n] = i;
      n++;
    }
    this.count = n;
    return this;
  }

  private grow(): void {
    const s = new Int32Array(this.starts.length * 2);
    const e = new Int32Array(this.ends.length * 2);
    s.set(this.starts);
    e.set(this.ends);
    this.starts = s;
    this.ends = e;
  }

  str(i: number): string {
    return i < this.count ? this.text.slice(this.starts[i]!, this.ends[i]!) : '';
  }

  /** token i as an unsigned decimal integer (1–20 digits, a safe integer), else null */
  num(i: number): number | null {
    if (i >= this.count) return null;
    const a = this.starts[i]!;
    const b = this.ends[i]!;
    if (b - a > 20) return null;
    let n = 0;
    for (let k = a; k < b; k++) {
      const d = this.text.charCodeAt(k) - 48;
      if (d < 0 || d > 9) return null;
      n = n * 10 + d;
    }
    // exact up to 2^53 (16 digits); anything larger is not a safe integer
    return Number.isSafeInteger(n) ? n : null;
  }

  /** whether token i is exactly `lit` */
  is(i: number, lit: string): boolean {
    if (i >= this.count) return false;
    const a = this.starts[i]!;
    return this.ends[i]! - a === lit.length && this.text.startsWith(lit, a);
  }

  indexOf(lit: string, from = 0): number {
    for (let i = from; i < this.count; i++) if (this.is(i, lit)) return i;
    return -1;
  }

  /** every token as a string (headers, small files, tests) */
  all(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.str(i));
    return out;
  }
}

/** One non-blank line: its 1-based number in the file and its tokens (valid only during the call). */
export type LineSink = (ln: number, tokens: Tokens) => void;

/** a longer line is no line the kernel prints (hundreds of addresses fit): dropped with a warning, never buffered whole */
export const MAX_LINE = 1 << 20;

/**
 * Splits text that arrives in pieces (a procfs read returns at most one page)
 * into numbered lines and hands each non-blank one to `sink` as offsets (see
 * Tokens). Each piece is searched for newlines once, so the work is linear
 * even in a line that spans many pieces. Line numbers count blank lines too.
 */
export class LineFeed {
  /** pieces of the line not yet ended */
  private rest: string[] = [];
  private restLen = 0;
  private overlong = false;
  private ln = 0;
  private readonly tokens = new Tokens();
  constructor(
    private readonly sink: LineSink,
    private readonly onOverlong: (ln: number) => void = () => {},
  ) {}

  push(chunk: string): void {
    let start = 0;
    let end = chunk.indexOf('\n');
    if (end < 0) return this.keep(chunk);
    if (this.restLen > 0 || this.overlong) {
      this.keep(chunk.slice(0, end));
      this.flush();
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    for (; end >= 0; end = chunk.indexOf('\n', start)) {
      this.line(chunk, start, end);
      start = end + 1;
    }
    this.keep(chunk.slice(start));
  }

  end(): void {
    if (this.restLen > 0 || this.overlong) this.flush();
  }

  private keep(piece: string): void {
    if (piece === '' || this.overlong) return;
    this.restLen += piece.length;
    if (this.restLen > MAX_LINE) {
      this.overlong = true;
      this.rest = [];
    } else this.rest.push(piece);
  }

  /** the kept pieces as one line */
  private flush(): void {
    if (this.overlong) {
      this.ln++;
      this.onOverlong(this.ln);
    } else {
      const text = this.rest.join('');
      this.line(text, 0, text.length);
    }
    this.rest = [];
    this.restLen = 0;
    this.overlong = false;
  }

  private line(text: string, from: number, to: number): void {
    this.ln++;
    if (this.tokens.reset(text, from, to).count > 0) this.sink(this.ln, this.tokens);
  }
}

/** A parser fed line by line (`line`), whose result is read once at the end. */
export interface LineParser<R> {
  line: LineSink;
  /** a line that could not be read at all (longer than MAX_LINE) */
  warn(ln: number, message: string): void;
  result(): R;
}

/** A LineFeed into `parser`, an overlong line reported as its warning. */
export function feedFor<R>(parser: LineParser<R>): LineFeed {
  return new LineFeed(parser.line, (ln) => parser.warn(ln, `line longer than ${MAX_LINE >> 20} MiB; skipped`));
}

/** Parse a whole text with a line parser. */
export function parseWith<R>(parser: LineParser<R>, text: string): R {
  const feed = feedFor(parser);
  feed.push(text);
  feed.end();
  return parser.result();
}

/** For header column i, the slot of its name or -1: made once per file, rows are then read by position. */
function columnPlan(header: readonly string[], slotOf: Readonly<Record<string, number>>): Int8Array {
  return Int8Array.from(header, (name) => (Object.hasOwn(slotOf, name) ? slotOf[name]! : -1));
}

/**
 * Read the planned numeric columns of one row, token `offset + i` for header
 * column i, into `out`. Returns the name of the first column that was present
 * but not a number, else null.
 */
function readColumns(header: readonly string[], plan: Int8Array, tokens: Tokens, offset: number, out: number[]): string | null {
  for (let i = 0; i < plan.length; i++) {
    const slot = plan[i]!;
    if (slot < 0) continue;
    const v = tokens.num(offset + i);
    if (v === null) return header[i]!;
    out[slot] = v;
  }
  return null;
}

/** The numeric columns of assocs (before LADDRS and after RADDRS) and their slots; rows are literals (a key-by-key object becomes a slow dictionary). */
const A = {
  STY: 0, SST: 1, ST: 2, HBKT: 3, 'ASSOC-ID': 4, TX_QUEUE: 5, RX_QUEUE: 6, UID: 7, INODE: 8, LPORT: 9, RPORT: 10,
  HBINT: 11, INS: 12, OUTS: 13, MAXRT: 14, T1X: 15, T2X: 16, RTXC: 17, wmema: 18, wmemq: 19, sndbuf: 20, rcvbuf: 21,
} as const;
const A_COUNT = Object.keys(A).length;
const ASSOC_REQUIRED = ['STY', 'ST', 'ASSOC-ID', 'LPORT', 'RPORT', 'LADDRS', '<->', 'RADDRS', 'HBINT', 'RTXC'];

/** LADDRS/RADDRS entries by token (`*` included), frozen and shared like the addresses. */
const localCache = new Map<string, Readonly<LocalAddrRow> | null>();
const remoteCache = new Map<string, Readonly<RemoteAddrRow> | null>();
const plainCache = new Map<string, Readonly<Address> | null>();

/** tokens [from, to) as addresses, `*` marking one; the offending token's text if one is no address */
function parseAddrList<T extends object>(
  tokens: Tokens,
  from: number,
  to: number,
  cache: Map<string, Readonly<T> | null>,
  make: (a: Readonly<Address>, starred: boolean) => T,
): Readonly<T>[] | string {
  const out: Readonly<T>[] = [];
  for (let i = from; i < to; i++) {
    const t = tokens.str(i);
    let x = cache.get(t);
    if (x === undefined) {
      const starred = t.charCodeAt(0) === 42; /* * */
      const a = kernelAddress(starred ? t.slice(1) : t);
      x = a && Object.freeze(make(a, starred));
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(t, x);
    }
    if (!x) return t;
    out.push(x);
  }
  return out;
}

/**
 * A line parser for a file whose first non-blank line is a header: the header
 * must name `required` (or the whole file is skipped with one warning), then
 * `rowsFor(header)` returns the sink for every following line.
 */
function headed<T>(
  file: string,
  required: readonly string[],
  rowsFor: (header: string[], rows: T[], warnings: ParseWarning[]) => LineSink,
): LineParser<Parsed<T>> {
  const rows: T[] = [];
  const warnings: ParseWarning[] = [];
  let sink: LineSink | null = null;
  let skipped = false;
  return {
    line(ln, tokens) {
      if (sink) return sink(ln, tokens);
      if (skipped) return;
      const header = tokens.all();
      const missing = required.filter((r) => !header.includes(r));
      if (missing.length > 0) {
        warnings.push({ file, line: ln, message: `header lacks ${missing.join(', ')}; file skipped` });
        skipped = true;
      } else sink = rowsFor(header, rows, warnings);
    },
    warn: (ln, message) => void warnings.push({ file, line: ln, message }),
    result: () => ({ rows, warnings, file }),
  };
}

export function assocsParser(file = 'assocs'): LineParser<Parsed<AssocRow>> {
  return headed<AssocRow>(file, ASSOC_REQUIRED, (header, rows, warnings) => {
    const iL = header.indexOf('LADDRS');
    const pre = header.slice(0, iL);
    const post = header.slice(header.indexOf('RADDRS') + 1);
    const prePlan = columnPlan(pre, A);
    const postPlan = columnPlan(post, A);
    const hasW = { wmema: post.includes('wmema'), wmemq: post.includes('wmemq'), sndbuf: post.includes('sndbuf'), rcvbuf: post.includes('rcvbuf') };
    // a numeric column the header lacks reads 0; only wmema, wmemq, sndbuf and
    // rcvbuf are left out of the row (kernels before 4.x lack them)
    const n = new Array<number>(A_COUNT).fill(0);
    return (ln, tokens) => {
      const bad = (message: string) => warnings.push({ file, line: ln, message: `${message}; line skipped` });
      const arrow = tokens.indexOf('<->', iL);
      if (arrow < 0 || tokens.count < arrow + 2 + post.length) {
        bad(arrow < 0 ? 'no `<->` between local and remote addresses' : 'too few columns');
        return;
      }
      const tail = tokens.count - post.length;
      const badColumn = readColumns(pre, prePlan, tokens, 0, n) ?? readColumns(post, postPlan, tokens, tail, n);
      if (badColumn) {
        bad(`column ${badColumn} is not a number`);
        return;
      }
      const laddrs = parseAddrList(tokens, iL, arrow, localCache, (a, s): LocalAddrRow => ({ ...a, primarySource: s }));
      const raddrs = parseAddrList(tokens, arrow + 1, tail, remoteCache, (a, s): RemoteAddrRow => ({ ...a, primary: s }));
      if (typeof laddrs === 'string' || typeof raddrs === 'string') {
        bad(`\`${typeof laddrs === 'string' ? laddrs : raddrs}\` is not an address`);
        return;
      }
      if (raddrs.length === 0) {
        bad('no remote address');
        return;
      }
      // one literal in a fixed key order: every row gets the same hidden class
      const row: AssocRow = {
        line: ln,
        sty: n[A.STY]!,
        sst: n[A.SST]!,
        st: n[A.ST]!,
        hashBucket: n[A.HBKT]!,
        assocId: n[A['ASSOC-ID']]!,
        txQueue: n[A.TX_QUEUE]!,
        rxQueue: n[A.RX_QUEUE]!,
        uid: n[A.UID]!,
        inode: n[A.INODE]!,
        lport: n[A.LPORT]!,
        rport: n[A.RPORT]!,
        laddrs,
        raddrs,
        hbint: n[A.HBINT]!,
        ins: n[A.INS]!,
        outs: n[A.OUTS]!,
        maxrt: n[A.MAXRT]!,
        t1x: n[A.T1X]!,
        t2x: n[A.T2X]!,
        rtxc: n[A.RTXC]!,
      };
      if (hasW.wmema) row.wmema = n[A.wmema]!;
      if (hasW.wmemq) row.wmemq = n[A.wmemq]!;
      if (hasW.sndbuf) row.sndbuf = n[A.sndbuf]!;
      if (hasW.rcvbuf) row.rcvbuf = n[A.rcvbuf]!;
      rows.push(row);
    };
  });
}

export function parseAssocs(text: string, file = 'assocs'): Parsed<AssocRow> {
  return parseWith(assocsParser(file), text);
}

/** The numeric columns of eps, before LADDRS. */
const E = { STY: 0, SST: 1, HBKT: 2, LPORT: 3, UID: 4, INODE: 5 } as const;

export function epsParser(file = 'eps'): LineParser<Parsed<EndpointRow>> {
  return headed<EndpointRow>(file, ['LPORT', 'INODE', 'LADDRS'], (header, rows, warnings) => {
    const iL = header.indexOf('LADDRS');
    const pre = header.slice(0, iL);
    const plan = columnPlan(pre, E);
    const n = new Array<number>(Object.keys(E).length).fill(0);
    return (ln, tokens) => {
      const badCol = tokens.count < iL ? 'too few columns' : readColumns(pre, plan, tokens, 0, n);
      const laddrs = badCol ? null : parseAddrList(tokens, iL, tokens.count, plainCache, (a) => a);
      if (badCol || typeof laddrs === 'string' || !laddrs) {
        const why = badCol
          ? badCol === 'too few columns'
            ? badCol
            : `column ${badCol} is not a number`
          : `\`${String(laddrs)}\` is not an address`;
        warnings.push({ file, line: ln, message: `${why}; line skipped` });
        return;
      }
      rows.push({
        line: ln,
        sty: n[E.STY]!,
        sst: n[E.SST]!,
        hashBucket: n[E.HBKT]!,
        lport: n[E.LPORT]!,
        uid: n[E.UID]!,
        inode: n[E.INODE]!,
        laddrs,
      });
    };
  });
}

export function parseEps(text: string, file = 'eps'): Parsed<EndpointRow> {
  return parseWith(epsParser(file), text);
}

/** The numeric columns of remaddr. */
const R = { ASSOC_ID: 0, HB_ACT: 1, RTO: 2, MAX_PATH_RTX: 3, STATE: 4 } as const;

export function remaddrParser(file = 'remaddr'): LineParser<Parsed<RemaddrRow>> {
  return headed<RemaddrRow>(file, ['ADDR', 'ASSOC_ID', 'RTO', 'STATE'], (header, rows, warnings) => {
    const iA = header.indexOf('ADDR');
    const plan = columnPlan(header, R);
    // HB_ACT and MAX_PATH_RTX, when the header lacks them, read 0
    const n = new Array<number>(Object.keys(R).length).fill(0);
    return (ln, tokens) => {
      const bad = (message: string) => warnings.push({ file, line: ln, message: `${message}; line skipped` });
      if (tokens.count < header.length) {
        bad('too few columns');
        return;
      }
      const address = kernelAddress(tokens.str(iA));
      if (!address) {
        bad(`\`${tokens.str(iA)}\` is not an address`);
        return;
      }
      const badColumn = readColumns(header, plan, tokens, 0, n);
      if (badColumn) {
        bad(`column ${badColumn} is not a number`);
        return;
      }
      rows.push({
        line: ln,
        address,
        assocId: n[R.ASSOC_ID]!,
        hbActive: n[R.HB_ACT] !== 0,
        rto: n[R.RTO]!,
        maxPathRtx: n[R.MAX_PATH_RTX]!,
        state: n[R.STATE]!,
      });
    };
  });
}

export function parseRemaddr(text: string, file = 'remaddr'): Parsed<RemaddrRow> {
  return parseWith(remaddrParser(file), text);
}

/** /proc/net/sctp/snmp: `SctpName <spaces/tab> value` per line. */
export function snmpParser(file = 'snmp'): LineParser<{ counters: Record<string, number>; warnings: ParseWarning[] }> {
  const counters: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  return {
    line(ln, tokens) {
      const v = tokens.num(1);
      const name = tokens.str(0);
      if (tokens.count !== 2 || !/^Sctp\w+$/.test(name) || v === null) {
        warnings.push({ file, line: ln, message: 'not a `SctpName value` line; skipped' });
        return;
      }
      counters[name] = v;
    },
    warn: (ln, message) => void warnings.push({ file, line: ln, message }),
    result: () => ({ counters, warnings }),
  };
}

export function parseSnmp(text: string, file = 'snmp'): { counters: Record<string, number>; warnings: ParseWarning[] } {
  return parseWith(snmpParser(file), text);
}
