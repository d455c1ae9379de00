/**
 * The view-model of `sctpdiag top`: rows, health, columns, sort, filter, selection and scrolling, counter rates and
 * sparklines. Pure: no I/O, no blessed, no clock. state.ts composes these; screen.ts only draws.
 */
import type { Association, Path } from '../model/snapshot.js';
import type { PathState } from '../kernel/enums.js';
import type { SctpEvent } from '../events/types.js';
import { escapeControl } from '../render/escape.js';
import { SEVERITY_ORDER, type Severity } from '../model/severity.js';

const rank = (s: Severity): number => SEVERITY_ORDER.indexOf(s);

/** Colour of a whole line; screen.ts maps it to blessed tags. */
export type Tone = 'normal' | 'good' | 'info' | 'warn' | 'fail' | 'dim';

export function healthTone(h: Severity): Tone {
  return h === 'ok' ? 'normal' : h;
}

/** Findings that describe configuration or history, not the current health of the paths. */
const NOT_HEALTH = new Set(['locally-single-homed', 'retransmissions']);

export function assocHealth(a: Association): Severity {
  let h: Severity = 'ok';
  for (const f of a.findings) {
    if (NOT_HEALTH.has(f.code)) continue;
    if (rank(f.severity) > rank(h)) h = f.severity;
  }
  return h;
}

const SHORT_PATH: Record<PathState, string> = {
  ACTIVE: 'up',
  PF: 'PF',
  INACTIVE: 'INACT',
  UNCONFIRMED: 'UNCNF',
  UNKNOWN: 'UNKN',
};
/** worst first */
const PATH_BADNESS: readonly PathState[] = ['INACTIVE', 'PF', 'UNKNOWN', 'UNCONFIRMED'];

/**
 * `2/2 up` when every path is ACTIVE; otherwise the count of the worst state:
 * `1/2 PF`, `1/2 INACT`, `1/1 UNKN`; `-` with no paths.
 */
export function healthSummary(paths: readonly Pick<Path, 'state'>[]): string {
  if (paths.length === 0) return '-';
  for (const s of PATH_BADNESS) {
    const n = paths.filter((p) => p.state === s).length;
    if (n > 0) return `${n}/${paths.length} ${SHORT_PATH[s]}`;
  }
  return `${paths.length}/${paths.length} up`;
}

export interface Row {
  key: string;
  assoc: Association;
  health: Severity;
  /** RTXC growth since the previous full read (null: no previous value) */
  rtxcDelta: number | null;
  /** RTO history slot of each path (same order as assoc.paths; see history.ts) */
  slots?: number[];
  /** the link it belongs to (links file), or null */
  link: string | null;
}

/** The lower-case text `/` searches: built only while a filter is active, cached per association object. */
const searchCache = new WeakMap<Association, string>();
function searchText(a: Association, link: string | null): string {
  let s = searchCache.get(a);
  if (s === undefined) {
    s = [
      link ?? '',
      String(a.id),
      a.style,
      a.state,
      `:${a.localPort}`,
      `:${a.peerPort}`,
      ...a.localAddresses.map((l) => l.address),
      ...a.paths.map((p) => `${p.address} ${p.state}`),
      ...a.owners.map((o) => `${escapeControl(o.comm)} ${o.pid}`),
      healthSummary(a.paths),
    ]
      .join(' ')
      .toLowerCase();
    searchCache.set(a, s);
  }
  return s;
}

const SHORT_STYLE: Record<string, string> = {
  'one-to-many': '1toM',
  'peeled-off': 'peel',
  'one-to-one': '1to1',
};
const SHORT_STATE: Record<string, string> = {
  COOKIE_WAIT: 'C-WAIT',
  COOKIE_ECHOED: 'C-ECHO',
  ESTABLISHED: 'ESTAB',
  SHUTDOWN_PENDING: 'SD-PEND',
  SHUTDOWN_SENT: 'SD-SENT',
  SHUTDOWN_RECEIVED: 'SD-RCVD',
  SHUTDOWN_ACK_SENT: 'SD-ACK',
  UNKNOWN: '?',
};
const shortState = (s: string): string => SHORT_STATE[s] ?? s;

export function ownerText(a: Pick<Association, 'owners'>): string {
  const o = a.owners;
  if (o.length === 0) return '-';
  const first = `${escapeControl(o[0]!.comm)}[${o[0]!.pid}]`;
  return o.length > 1 ? `${first}+${o.length - 1}` : first;
}

function primaryRto(a: Association): number | null {
  const p = a.paths.find((x) => x.primary) ?? a.paths[0];
  return p ? p.rtoMs : null;
}

export type ColumnId =
  | 'id'
  | 'style'
  | 'state'
  | 'ports'
  | 'link'
  | 'local'
  | 'primary'
  | 'active'
  | 'health'
  | 'rto'
  | 'rtxc'
  | 'owner';

export interface Column {
  id: ColumnId;
  title: string;
  /** width when shown (flex columns may grow up to max) */
  width: number;
  max: number;
  /** lower is dropped later when the terminal is narrow */
  priority: number;
  /** shown only when a links file names links */
  links?: true;
  right?: boolean;
  text(r: Row): string;
  /** sort key: numbers sort numerically, strings by code unit */
  sort(r: Row): number | string;
}

const healthSortKey = (r: Row): number => {
  const p = r.assoc.paths;
  const up = p.filter((x) => x.state === 'ACTIVE').length;
  // worst first when ascending: health rank descending, then fraction of paths up
  return (SEVERITY_ORDER.length - 1 - rank(r.health)) * 1000 + (p.length ? Math.round((up / p.length) * 999) : 0);
};

export const COLUMNS: readonly Column[] = [
  { id: 'id', title: 'ID', width: 5, max: 10, priority: 0, right: true, text: (r) => String(r.assoc.id), sort: (r) => r.assoc.id },
  { id: 'style', title: 'STY', width: 4, max: 4, priority: 7, text: (r) => SHORT_STYLE[r.assoc.style] ?? '?', sort: (r) => r.assoc.style },
  { id: 'state', title: 'STATE', width: 7, max: 7, priority: 1, text: (r) => shortState(r.assoc.state), sort: (r) => r.assoc.stateCode },
  {
    id: 'ports',
    title: 'PORTS',
    width: 11,
    max: 13,
    priority: 2,
    text: (r) => `${r.assoc.localPort}→${r.assoc.peerPort}`,
    sort: (r) => r.assoc.localPort * 65536 + r.assoc.peerPort,
  },
  { id: 'link', title: 'LINK', width: 8, max: 20, priority: 2, links: true, text: (r) => r.link ?? '-', sort: (r) => r.link ?? '' },
  {
    id: 'local',
    title: 'LOCAL',
    width: 15,
    max: 40,
    priority: 8,
    text: (r) => r.assoc.localAddresses.map((l) => l.address).join(',') || '-',
    sort: (r) => r.assoc.localAddresses[0]?.address ?? '',
  },
  { id: 'primary', title: 'PRIMARY', width: 15, max: 39, priority: 5, text: (r) => r.assoc.primaryPath ?? '-', sort: (r) => r.assoc.primaryPath ?? '' },
  { id: 'active', title: 'ACTIVE', width: 15, max: 39, priority: 3, text: (r) => r.assoc.activePath ?? '-', sort: (r) => r.assoc.activePath ?? '' },
  { id: 'health', title: 'PATHS', width: 9, max: 11, priority: 1, text: (r) => healthSummary(r.assoc.paths), sort: healthSortKey },
  {
    id: 'rto',
    title: 'RTO',
    width: 5,
    max: 7,
    priority: 4,
    right: true,
    text: (r) => String(primaryRto(r.assoc) ?? '-'),
    sort: (r) => primaryRto(r.assoc) ?? -1,
  },
  {
    id: 'rtxc',
    title: 'RTXC',
    width: 6,
    max: 12,
    priority: 4,
    right: true,
    text: (r) => (r.rtxcDelta ? `+${r.rtxcDelta} ${r.assoc.retransmittedChunks}` : String(r.assoc.retransmittedChunks)),
    sort: (r) => (r.rtxcDelta ?? 0) * 1e9 + r.assoc.retransmittedChunks,
  },
  { id: 'owner', title: 'OWNER', width: 12, max: 24, priority: 6, text: (r) => ownerText(r.assoc), sort: (r) => ownerText(r.assoc) },
];

export function column(id: ColumnId): Column {
  return COLUMNS.find((c) => c.id === id)!;
}

export interface LaidColumn {
  col: Column;
  width: number;
}

/**
 * The columns that fit `width` (one space apart), the least important dropped first; then each widened toward what
 * its text in `sample` (the visible rows) needs, most important first.
 */
export function layoutColumns(width: number, sample: readonly Row[] = [], links = false): LaidColumn[] {
  let cols = links ? [...COLUMNS] : COLUMNS.filter((c) => !c.links);
  const need = (cs: readonly Column[]) => cs.reduce((n, c) => n + c.width, 0) + Math.max(0, cs.length - 1);
  while (need(cols) > width && cols.length > 1) {
    const drop = cols.reduce((w, c) => (c.priority > w.priority ? c : w));
    cols = cols.filter((c) => c !== drop);
  }
  const laid = cols.map((col) => ({ col, width: col.width }));
  let spare = width - need(cols);
  const byPriority = [...laid].sort((a, b) => a.col.priority - b.col.priority);
  for (const l of byPriority) {
    if (spare <= 0) break;
    let want = l.col.title.length + 1;
    for (const r of sample) want = Math.max(want, l.col.text(r).length);
    const add = Math.max(0, Math.min(spare, Math.min(want, l.col.max) - l.width));
    l.width += add;
    spare -= add;
  }
  return laid;
}

export function fit(text: string, width: number, right = false): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : text.slice(0, width - 1) + '…';
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatHeader(cols: readonly LaidColumn[], sort: SortSpec): string {
  return cols
    .map(({ col, width }) => {
      const t = col.id === sort.column ? `${col.title}${sort.descending ? '▼' : '▲'}` : col.title;
      return fit(t, width, col.right);
    })
    .join(' ');
}

export function formatRow(r: Row, cols: readonly LaidColumn[]): string {
  return cols.map(({ col, width }) => fit(col.text(r), width, col.right)).join(' ');
}

export interface SortSpec {
  column: ColumnId;
  descending: boolean;
}

export function sortRows(rows: readonly Row[], s: SortSpec): Row[] {
  const key = column(s.column).sort;
  const dir = s.descending ? -1 : 1;
  const keyed = rows.map((r) => ({ r, k: key(r) }));
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  keyed.sort((a, b) => {
    const c = typeof a.k === 'number' && typeof b.k === 'number' ? a.k - b.k : cmp(String(a.k), String(b.k));
    // ties in id order (then key), whatever the direction
    return c !== 0 ? c * dir : a.r.assoc.id - b.r.assoc.id || cmp(a.r.key, b.r.key);
  });
  return keyed.map((x) => x.r);
}

export function filterTerms(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

export function matchesTerms(a: Association, terms: readonly string[], link: string | null): boolean {
  if (terms.length === 0) return true;
  const text = searchText(a, link);
  return terms.every((t) => text.includes(t));
}

/** Every whitespace-separated term must occur (case-insensitive) in the row's text. */
export function filterRows(rows: readonly Row[], text: string): Row[] {
  const terms = filterTerms(text);
  return rows.filter((r) => matchesTerms(r.assoc, terms, r.link));
}

export interface Selection {
  /** key of the selected association, kept across refreshes */
  key: string | null;
  index: number;
  /** first visible row */
  offset: number;
}

/** After the rows changed: the same association stays selected; if it is gone, the row at its old position is. */
export function reconcile(sel: Selection, rows: readonly Row[], height: number): Selection {
  if (rows.length === 0) return { key: sel.key, index: 0, offset: 0 };
  let index = sel.key === null ? -1 : rows.findIndex((r) => r.key === sel.key);
  if (index < 0) index = Math.min(Math.max(0, sel.index), rows.length - 1);
  return selectAt(rows, index, sel.offset, height);
}

export function moveSelection(sel: Selection, rows: readonly Row[], delta: number, height: number): Selection {
  if (rows.length === 0) return sel;
  return selectAt(rows, Math.min(rows.length - 1, Math.max(0, sel.index + delta)), sel.offset, height);
}

/** rows[index] selected and visible, the window moved as little as possible from `offset` */
function selectAt(rows: readonly Row[], index: number, offset: number, height: number): Selection {
  const h = Math.max(1, height);
  let top = Math.min(offset, Math.max(0, rows.length - h));
  if (index < top) top = index;
  if (index >= top + h) top = index - h + 1;
  return { key: rows[index]!.key, index, offset: Math.max(0, top) };
}

/** Counters that matter for multi-homing, with their tone while they grow; CurrEstab is a gauge (shown as a value). */
export const SNMP_PANEL = [
  { name: 'SctpT3RtxExpireds', label: 'T3RtxExpired', gauge: false, moving: 'fail' },
  { name: 'SctpT3Retransmits', label: 'T3Retransmit', gauge: false, moving: 'warn' },
  { name: 'SctpFastRetransmits', label: 'FastRetrans', gauge: false, moving: 'warn' },
  { name: 'SctpAborteds', label: 'Aborteds', gauge: false, moving: 'fail' },
  { name: 'SctpOutOfBlues', label: 'OutOfBlues', gauge: false, moving: 'warn' },
  { name: 'SctpCurrEstab', label: 'CurrEstab', gauge: true, moving: 'normal' },
] as const;

/** Per-second rate; a counter that went down (module reload, netns recreated) restarted: null for that interval. */
export function rate(prev: number | undefined, cur: number | undefined, dtMs: number): number | null {
  if (prev === undefined || cur === undefined || !(dtMs > 0)) return null;
  if (cur < prev) return null;
  return ((cur - prev) * 1000) / dtMs;
}

export function rates(
  prev: Readonly<Record<string, number>>,
  cur: Readonly<Record<string, number>>,
  dtMs: number,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of Object.keys(cur)) out[k] = rate(prev[k], cur[k], dtMs);
  return out;
}

const BLOCKS = '▁▂▃▄▅▆▇█';
const ASCII = '_.-=+*#@';

/** One character per value (the last `width`), scaled to the largest; null is a gap. */
export function sparkline(values: readonly (number | null)[], width: number, ascii = false): string {
  const chars = ascii ? ASCII : BLOCKS;
  const v = values.slice(-Math.max(0, width));
  const max = Math.max(0, ...v.map((x) => x ?? 0));
  const s = v
    .map((x) => {
      if (x === null) return ' ';
      if (max <= 0) return chars[0]!;
      return chars[Math.min(chars.length - 1, Math.round((x / max) * (chars.length - 1)))]!;
    })
    .join('');
  return s.padStart(Math.max(0, width));
}

export function formatRate(r: number | null): string {
  if (r === null) return '-';
  if (r === 0) return '0/s';
  if (r >= 100) return `${Math.round(r)}/s`;
  if (r >= 10) return `${r.toFixed(1)}/s`;
  return `${r.toFixed(2)}/s`;
}

/** How the event log and the detail pane's findings name a severity. */
export function severityLabel(s: Severity): string {
  return s === 'fail' ? 'FAIL' : s === 'warn' ? 'WARN' : 'info';
}

export function eventTone(e: Pick<SctpEvent, 'severity'>): Tone {
  return e.severity === 'fail' ? 'fail' : e.severity === 'warn' ? 'warn' : 'normal';
}

/** `12:00:06 WARN path.state #3 10.1.0.2 ACTIVE→INACTIVE reason` (time in UTC, like the log). */
export function formatEvent(e: SctpEvent): string {
  const t = e.time.length >= 19 ? e.time.slice(11, 19) : e.time;
  const parts = [t, severityLabel(e.severity), e.type];
  if (e.assoc) parts.push(`#${e.assoc.id}`);
  if (e.path) parts.push(e.path);
  if (e.from !== undefined || e.to !== undefined) parts.push(`${e.from ?? '-'}→${e.to ?? '-'}`);
  if (e.reason) parts.push(e.reason);
  if (e.metrics) {
    const m = Object.entries(e.metrics)
      .slice(0, 3)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (m) parts.push(m);
  }
  return parts.join(' ');
}
