/**
 * Parsers for /proc/net/sctp/{assocs,eps,remaddr,snmp} (net/sctp/proc.c).
 * Pure functions of text. Columns are found by the header line, never by a
 * fixed count: kernels before 4.x lack `wmema wmemq sndbuf rcvbuf`, and
 * unknown extra columns are skipped by name. A line that does not fit is
 * reported as a warning naming file and line, and skipped; nothing throws.
 */
import { fromKernel, type Address } from '../model/addr.js';

export interface ParseWarning {
  file: string;
  line: number;
  message: string;
}

export interface LocalAddrRow extends Address {
  /** `*` in LADDRS: the source address used toward the primary path */
  primarySource: boolean;
}

export interface RemoteAddrRow extends Address {
  /** `*` in RADDRS: the primary path (not necessarily the one carrying traffic) */
  primary: boolean;
}

export interface AssocRow {
  line: number;
  sty: number;
  sst: number;
  st: number;
  hashBucket: number;
  assocId: number;
  txQueue: number;
  rxQueue: number;
  uid: number;
  inode: number;
  lport: number;
  rport: number;
  laddrs: LocalAddrRow[];
  raddrs: RemoteAddrRow[];
  /** heartbeat interval, jiffies */
  hbint: number;
  ins: number;
  outs: number;
  /** configured Association.Max.Retrans (a limit, not a counter) */
  maxrt: number;
  t1x: number;
  t2x: number;
  /** T3 data retransmissions */
  rtxc: number;
  wmema?: number;
  wmemq?: number;
  sndbuf?: number;
  rcvbuf?: number;
}

export interface EndpointRow {
  line: number;
  sty: number;
  sst: number;
  hashBucket: number;
  lport: number;
  uid: number;
  inode: number;
  laddrs: Address[];
}

export interface RemaddrRow {
  line: number;
  address: Address;
  assocId: number;
  hbActive: boolean;
  /** jiffies */
  rto: number;
  maxPathRtx: number;
  state: number;
}

export interface Parsed<T> {
  rows: T[];
  warnings: ParseWarning[];
}

const UINT = /^\d{1,20}$/;

function num(token: string | undefined): number | null {
  if (token === undefined || !UINT.test(token)) return null;
  const n = Number(token);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * [lineNumber, tokens] for each non-blank line, one line at a time: at 10k
 * associations an array of every line's tokens (≈400k strings) outlived two
 * scavenges, was promoted to the old generation and drove peak RSS and GC.
 */
function* tokenLines(text: string): Generator<[number, string[]], void, undefined> {
  let ln = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    ln++;
    const l = text.slice(start, end).trim();
    if (l !== '') yield [ln, l.split(/\s+/)];
    start = end + 1;
  }
}

type NumericColumns<T> = { [K in keyof T]: T[K] extends number | undefined ? K : never }[keyof T];

/**
 * Read the named numeric columns of one row into `target`.
 * `names` maps header names to row fields; unknown headers are skipped.
 * Returns the name of the first column that was present but not a number.
 */
function readColumns<T extends object>(
  header: readonly string[],
  tokens: readonly string[],
  names: Readonly<Record<string, NumericColumns<T>>>,
  target: Partial<T>,
): string | null {
  for (let i = 0; i < header.length; i++) {
    const field = names[header[i]!];
    if (field === undefined) continue;
    const v = num(tokens[i]);
    if (v === null) return header[i]!;
    (target as Record<string, number>)[field as string] = v;
  }
  return null;
}

const ASSOC_PRE: Record<string, NumericColumns<AssocRow>> = {
  STY: 'sty',
  SST: 'sst',
  ST: 'st',
  HBKT: 'hashBucket',
  'ASSOC-ID': 'assocId',
  TX_QUEUE: 'txQueue',
  RX_QUEUE: 'rxQueue',
  UID: 'uid',
  INODE: 'inode',
  LPORT: 'lport',
  RPORT: 'rport',
};
const ASSOC_POST: Record<string, NumericColumns<AssocRow>> = {
  HBINT: 'hbint',
  INS: 'ins',
  OUTS: 'outs',
  MAXRT: 'maxrt',
  T1X: 't1x',
  T2X: 't2x',
  RTXC: 'rtxc',
  wmema: 'wmema',
  wmemq: 'wmemq',
  sndbuf: 'sndbuf',
  rcvbuf: 'rcvbuf',
};
const ASSOC_REQUIRED = ['STY', 'ST', 'ASSOC-ID', 'LPORT', 'RPORT', 'LADDRS', '<->', 'RADDRS', 'HBINT', 'RTXC'];

function parseAddrList<T>(
  tokens: readonly string[],
  marker: (a: Address, starred: boolean) => T,
): T[] | string {
  const out: T[] = [];
  for (const t of tokens) {
    const starred = t.startsWith('*');
    const a = fromKernel(starred ? t.slice(1) : t);
    if (!a) return t;
    out.push(marker(a, starred));
  }
  return out;
}

function checkHeader(
  file: string,
  lines: Iterator<[number, string[]], void>,
  required: readonly string[],
  warnings: ParseWarning[],
): string[] | null {
  const first = lines.next();
  if (first.done) return null;
  const [ln, header] = first.value;
  const missing = required.filter((r) => !header.includes(r));
  if (missing.length > 0) {
    warnings.push({ file, line: ln, message: `header lacks ${missing.join(', ')}; file skipped` });
    return null;
  }
  return header;
}

export function parseAssocs(text: string, file = 'assocs'): Parsed<AssocRow> {
  const warnings: ParseWarning[] = [];
  const rows: AssocRow[] = [];
  const lines = tokenLines(text);
  const header = checkHeader(file, lines, ASSOC_REQUIRED, warnings);
  if (!header) return { rows, warnings };
  const iL = header.indexOf('LADDRS');
  const pre = header.slice(0, iL);
  const post = header.slice(header.indexOf('RADDRS') + 1);
  const hasW = { wmema: post.includes('wmema'), wmemq: post.includes('wmemq'), sndbuf: post.includes('sndbuf'), rcvbuf: post.includes('rcvbuf') };
  const scratch: Partial<AssocRow> = {};
  for (const [ln, tokens] of lines) {
    const bad = (message: string) => warnings.push({ file, line: ln, message: `${message}; line skipped` });
    const arrow = tokens.indexOf('<->', iL);
    if (arrow < 0 || tokens.length < arrow + 2 + post.length) {
      bad(arrow < 0 ? 'no `<->` between local and remote addresses' : 'too few columns');
      continue;
    }
    // columns are stored by computed name into a reused scratch object; the row
    // itself is one literal: 20+ keyed stores turned every row into a
    // dictionary-mode object (~3 KB each, slow to read in buildSnapshot)
    const v = scratch;
    const badPre = readColumns(pre, tokens, ASSOC_PRE, v);
    const tail = tokens.slice(tokens.length - post.length);
    const badPost = badPre ?? readColumns(post, tail, ASSOC_POST, v);
    if (badPost) {
      bad(`column ${badPost} is not a number`);
      continue;
    }
    const laddrs = parseAddrList(tokens.slice(iL, arrow), (a, s): LocalAddrRow => ({ ...a, primarySource: s }));
    const raddrs = parseAddrList(
      tokens.slice(arrow + 1, tokens.length - post.length),
      (a, s): RemoteAddrRow => ({ ...a, primary: s }),
    );
    if (typeof laddrs === 'string' || typeof raddrs === 'string') {
      bad(`\`${typeof laddrs === 'string' ? laddrs : raddrs}\` is not an address`);
      continue;
    }
    if (raddrs.length === 0) {
      bad('no remote address');
      continue;
    }
    const row: AssocRow = {
      line: ln,
      sty: v.sty!,
      sst: v.sst!,
      st: v.st!,
      hashBucket: v.hashBucket!,
      assocId: v.assocId!,
      txQueue: v.txQueue!,
      rxQueue: v.rxQueue!,
      uid: v.uid!,
      inode: v.inode!,
      lport: v.lport!,
      rport: v.rport!,
      laddrs,
      raddrs,
      hbint: v.hbint!,
      ins: v.ins!,
      outs: v.outs!,
      maxrt: v.maxrt!,
      t1x: v.t1x!,
      t2x: v.t2x!,
      rtxc: v.rtxc!,
    };
    if (hasW.wmema) row.wmema = v.wmema;
    if (hasW.wmemq) row.wmemq = v.wmemq;
    if (hasW.sndbuf) row.sndbuf = v.sndbuf;
    if (hasW.rcvbuf) row.rcvbuf = v.rcvbuf;
    rows.push(row);
  }
  return { rows, warnings };
}

const EP_COLS: Record<string, NumericColumns<EndpointRow>> = {
  STY: 'sty',
  SST: 'sst',
  HBKT: 'hashBucket',
  LPORT: 'lport',
  UID: 'uid',
  INODE: 'inode',
};

export function parseEps(text: string, file = 'eps'): Parsed<EndpointRow> {
  const warnings: ParseWarning[] = [];
  const rows: EndpointRow[] = [];
  const lines = tokenLines(text);
  const header = checkHeader(file, lines, ['LPORT', 'INODE', 'LADDRS'], warnings);
  if (!header) return { rows, warnings };
  const iL = header.indexOf('LADDRS');
  const pre = header.slice(0, iL);
  for (const [ln, tokens] of lines) {
    const row: Partial<EndpointRow> = { line: ln };
    const badCol = tokens.length < iL ? 'too few columns' : readColumns(pre, tokens, EP_COLS, row);
    const laddrs = badCol ? null : parseAddrList(tokens.slice(iL), (a) => a);
    if (badCol || typeof laddrs === 'string' || !laddrs) {
      const why = badCol
        ? badCol === 'too few columns'
          ? badCol
          : `column ${badCol} is not a number`
        : `\`${String(laddrs)}\` is not an address`;
      warnings.push({ file, line: ln, message: `${why}; line skipped` });
      continue;
    }
    row.laddrs = laddrs;
    rows.push(row as EndpointRow);
  }
  return { rows, warnings };
}

const REMADDR_COLS: Record<string, 'assocId' | 'rto' | 'maxPathRtx' | 'state' | 'hbAct'> = {
  ASSOC_ID: 'assocId',
  HB_ACT: 'hbAct',
  RTO: 'rto',
  MAX_PATH_RTX: 'maxPathRtx',
  STATE: 'state',
};

export function parseRemaddr(text: string, file = 'remaddr'): Parsed<RemaddrRow> {
  const warnings: ParseWarning[] = [];
  const rows: RemaddrRow[] = [];
  const lines = tokenLines(text);
  const header = checkHeader(file, lines, ['ADDR', 'ASSOC_ID', 'RTO', 'STATE'], warnings);
  if (!header) return { rows, warnings };
  const iA = header.indexOf('ADDR');
  for (const [ln, tokens] of lines) {
    const bad = (message: string) => warnings.push({ file, line: ln, message: `${message}; line skipped` });
    if (tokens.length < header.length) {
      bad('too few columns');
      continue;
    }
    const address = fromKernel(tokens[iA]!);
    if (!address) {
      bad(`\`${tokens[iA]}\` is not an address`);
      continue;
    }
    const v: Record<string, number> = { hbAct: 0, maxPathRtx: 0 };
    let badCol: string | null = null;
    header.forEach((h, i) => {
      const f = REMADDR_COLS[h];
      if (!f || badCol) return;
      const n = num(tokens[i]);
      if (n === null) badCol = h;
      else v[f] = n;
    });
    if (badCol) {
      bad(`column ${badCol} is not a number`);
      continue;
    }
    rows.push({
      line: ln,
      address,
      assocId: v.assocId!,
      hbActive: v.hbAct !== 0,
      rto: v.rto!,
      maxPathRtx: v.maxPathRtx!,
      state: v.state!,
    });
  }
  return { rows, warnings };
}

/** /proc/net/sctp/snmp: `SctpName <spaces/tab> value` per line. */
export function parseSnmp(text: string, file = 'snmp'): { counters: Record<string, number>; warnings: ParseWarning[] } {
  const counters: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  for (const [ln, tokens] of tokenLines(text)) {
    const v = num(tokens[1]);
    if (tokens.length !== 2 || !/^Sctp\w+$/.test(tokens[0]!) || v === null) {
      warnings.push({ file, line: ln, message: 'not a `SctpName value` line; skipped' });
      continue;
    }
    counters[tokens[0]!] = v;
  }
  return { counters, warnings };
}
