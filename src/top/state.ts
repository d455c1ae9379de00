/**
 * The application state of `sctpdiag top`: snapshots, events, the event source's status and keys go in; a Frame
 * (text lines with tones, pane positions) comes out. Pure (times are parameters), so tested without a terminal.
 */
import { deriveFindings, inferActive, type Association, type Path, type Snapshot } from '../model/snapshot.js';
import { PATH_STATE_NAMES, type PathState } from '../kernel/enums.js';
import type { SctpEvent } from '../events/types.js';
import { HISTORY, RtoHistory } from './history.js';
import { nextReadMs, type ReadCost } from '../kernel/pacing.js';
import { linkHealth, linkOf, type LinkHealth, type LinkSpec } from '../links/links.js';
import { FigureStore, formatAge, formatBytes, rttAgeMs, staleAfterMs, type LiveFigures } from '../model/figures.js';
import {
  SNMP_PANEL,
  assocHealth,
  column,
  eventTone,
  filterRows,
  filterTerms,
  fit,
  formatEvent,
  formatHeader,
  formatRate,
  formatRow,
  healthSummary,
  healthTone,
  layoutColumns,
  matchesTerms,
  moveSelection,
  ownerText,
  rates,
  reconcile,
  severityLabel,
  sortRows,
  sparkline,
  type Row,
  type Selection,
  type SortSpec,
  type Tone,
} from './view.js';

export interface SourceStatus {
  /** bpf: probes attached; procfs: polling; degraded: something is missing (reason); replay: a capture */
  source: 'bpf' | 'procfs' | 'degraded' | 'replay' | 'starting';
  probesAttached?: number;
  reason?: string | null;
  /** per event type sources, counted (summariseSources), when not all are bpf */
  types?: string;
}

export interface TopOptions {
  host: string;
  /** --interval: the refresh the operator asked for */
  baseIntervalMs: number;
  /** --proc-root of a capture: shown, never re-read */
  replay: string | null;
  /** plain ASCII sparklines and markers (terminal not UTF-8) */
  ascii?: boolean;
  /** named links (--links, or /etc/sctpdiag/links.conf): a LINK column, and links down in the header */
  links?: readonly LinkSpec[];
  /** how often the probes print their per-path figures (ms): a figure older than a few prints is stale */
  metricsPrintMs?: number;
}

export type Mode = 'table' | 'detail' | 'filter' | 'help';

export interface Line {
  text: string;
  tone?: Tone;
  /** the selected table row / a title bar */
  inverse?: boolean;
  bold?: boolean;
}

export interface Pane {
  top: number;
  left: number;
  width: number;
  height: number;
  lines: Line[];
}

export interface Frame {
  width: number;
  height: number;
  header: Pane;
  table?: Pane;
  detail?: Pane;
  snmp?: Pane;
  events?: Pane;
  help?: Pane;
  /** RTO history per path of the selected association (detail view) */
  chart?: Omit<Pane, 'lines'> & { title: string; series: { title: string; x: string[]; y: number[] }[] };
  footer: Pane;
}

export type KeyResult = 'quit' | 'render' | 'none';

/** Hard limits that keep memory flat at 10k associations (HISTORY: history.ts). */
const EVENT_LOG = 200;
/** the events whose metrics carry a path's current RTO */
const RTO_EVENTS: ReadonlySet<SctpEvent['type']> = new Set(['path.metrics', 'path.rtx_timeout', 'path.state']);

function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** An association with some paths changed (from a live event), derived fields recomputed. */
function withPaths(a: Association, paths: Path[], extra: Partial<Association> = {}): Association {
  const activePath = inferActive(paths);
  const ps = paths.map((p) => ({ ...p, active: p.address === activePath }));
  const primaryPath = ps.find((p) => p.primary)?.address ?? a.primaryPath;
  const base = { ...a, ...extra, paths: ps, activePath, primaryPath };
  return { ...base, findings: deriveFindings(base) };
}

/** the header's event source */
const EVENTS_TEXT: Record<SourceStatus['source'], (s: SourceStatus) => string> = {
  bpf: (s) => `events bpf (${s.probesAttached ?? '?'} probes)`,
  procfs: (s) => `events procfs polling${s.reason ? ` (${s.reason})` : ''}`,
  degraded: (s) => `events DEGRADED: ${s.reason ?? 'unknown reason'}`,
  replay: () => 'events none (replay)',
  starting: () => 'events starting',
};

const HELP: readonly string[] = [
  'sctpdiag top — keys',
  '',
  '↑ ↓  j k      move the selection',
  'PgUp PgDn     a page up / down;  g G  first / last',
  'Enter         detail of the selected association (RTO chart); Enter/Esc back',
  's  S          sort by the next column / reverse the order',
  '/             filter: every word must match (id, state, port, address, owner,',
  '              link)',
  '              Enter keeps it, Esc clears it',
  'p             pause / resume refreshing',
  '?             this help (any key closes it)',
  'q  Ctrl-C     quit',
  '',
  'Colours: red = no usable path / path INACTIVE, yellow = PF or primary not',
  'active, cyan = handshake / shutdown. PATHS: 2/2 up, or the count of the',
  'worst path state (1/2 PF, 1/2 INACT). RTO is the primary path\'s, in ms;',
  'RTXC is chunks retransmitted (+N: since the previous read).',
  'LINK: the links file\'s name (--links); the header counts links up and names',
  'those down (no ESTABLISHED association with an ACTIVE path: sctp_link_up 0).',
];

export class TopState {
  readonly opts: TopOptions;
  width = 80;
  height = 24;
  mode: Mode = 'table';
  paused = false;
  snapshot: Snapshot | null = null;
  error: { message: string; hint?: string } | null = null;
  source: SourceStatus = { source: 'starting' };
  sort: SortSpec = { column: 'id', descending: false };
  filter = '';
  private filterBefore = '';
  private selection: Selection = { key: null, index: 0, offset: 0 };
  /** the selection must be re-found in the view (rows, sort, filter or height changed) */
  private selStale = true;
  /** effective refresh interval (adaptive) */
  refreshMs: number;
  lastReadMs: number | null = null;
  private lastReadAt: number | null = null;
  /** the clock as of the last tick or full read (header: age of the data) */
  private now: number | null = null;
  /** one Row per association, walked only on a full read (or sort/filter change): events update a row in place */
  private rows = new Map<string, StateRow>();
  /** the filtered, sorted rows */
  private viewCache: Row[] = [];
  /** resort: values or the sort changed (nearly sorted already, so cheap); rebuild: rows came or went, or the filter */
  private viewState: 'ok' | 'resort' | 'rebuild' = 'rebuild';
  private established = 0;
  /** live events, oldest first (at most 2 × EVENT_LOG); formatted only when on screen */
  private events: SctpEvent[] = [];
  private held: SctpEvent[] = [];
  private snmpHist = new Map<string, (number | null)[]>();
  private hist = new RtoHistory();
  /** bpf's per-path figures (path.metrics) with their stamps: the detail pane shows them with their age */
  private figures = new FigureStore();
  private gen = 0;
  private eventCount = 0;

  private drift: { profile: string; drifted: number } | null = null;
  private readonly links: readonly LinkSpec[];
  /** rows that belong to a link (the same objects as in rows) */
  private linked: StateRow[] = [];
  /** per link, in file order; null: to be recomputed (a read, or an event on a linked row) */
  private linkCache: LinkHealth[] | null = null;

  constructor(opts: TopOptions) {
    this.opts = opts;
    this.links = opts.links ?? [];
    this.refreshMs = opts.baseIntervalMs;
  }

  resize(width: number, height: number): void {
    this.width = Math.max(20, width);
    this.height = Math.max(8, height);
    this.selStale = true;
  }

  /** The clock, once a second between full reads: the header shows how old the data is. */
  tick(nowMs: number): void {
    this.now = nowMs;
  }

  /** The selected row (by key), its index in the view and the first visible row. */
  get sel(): Selection {
    this.view();
    return this.selection;
  }

  /** Profile drift after each live read (null: no profile applied, or unknown). */
  setDrift(d: { profile: string; drifted: number } | null): void {
    this.drift = d;
  }

  setSource(s: SourceStatus): void {
    this.source = s;
  }

  /** A read failed (no SCTP, permission…): shown instead of the table until a read succeeds. */
  setError(message: string, hint?: string): void {
    this.error = { message, hint };
  }

  /** A full read: `atMs` when it was taken, `readMs` how long it took, `cost` what it cost the kernel. */
  applySnapshot(snap: Snapshot, t: { atMs: number; readMs: number; cost?: ReadCost | null }): void {
    this.error = null;
    const prev = this.snapshot;
    const dt = this.lastReadAt === null ? 0 : t.atMs - this.lastReadAt;
    if (prev && dt > 0) {
      const r = rates(prev.snmp, snap.snmp, dt);
      for (const c of SNMP_PANEL) this.pushHist(c.name, c.gauge ? (snap.snmp[c.name] ?? null) : (r[c.name] ?? null));
    } else if (!prev) {
      for (const c of SNMP_PANEL) if (c.gauge) this.pushHist(c.name, snap.snmp[c.name] ?? null);
    }
    // the one pass over every association per full read: rows updated in place, RTXC growth, RTO samples
    const gen = ++this.gen;
    const rows = this.rows;
    let est = 0;
    let added = 0;
    for (const a of snap.associations) {
      let row = rows.get(a.key);
      if (row && row.gen !== gen) {
        row.slots = this.carrySlots(row, a, gen);
        row.rtxcDelta = Math.max(0, a.retransmittedChunks - row.assoc.retransmittedChunks);
        row.link = this.linkFor(a, row);
        row.assoc = a;
        row.health = assocHealth(a);
        row.gen = gen;
      } else {
        // new, or the same key twice in one read (the later wins)
        row = { key: a.key, assoc: a, health: assocHealth(a), rtxcDelta: null, slots: this.carrySlots(undefined, a, gen), link: this.linkFor(a), gen };
        rows.set(a.key, row);
        added++;
      }
      if (a.state === 'ESTABLISHED') est++;
    }
    // associations gone since the last read
    let removed = false;
    if (rows.size !== snap.associations.length)
      for (const [k, r] of rows)
        if (r.gen !== gen) {
          rows.delete(k);
          removed = true;
        }
    // the rows that belong to a link (after removals; a key read twice counts once)
    this.linked = this.links.length ? [...rows.values()].filter((r) => r.link !== null) : [];
    this.linkCache = null;
    this.hist.sweep(gen);
    if (removed && this.figures.size > 0) this.figures.retain((id, path) => rows.get(String(id))?.assoc.paths.some((p) => p.address === path) ?? false);
    this.established = est;
    this.snapshot = snap;
    this.lastReadAt = t.atMs;
    if (this.now === null || t.atMs > this.now) this.now = t.atMs;
    this.lastReadMs = t.readMs;
    this.refreshMs = this.opts.replay ? this.opts.baseIntervalMs : nextReadMs(this.opts.baseIntervalMs, t.cost ?? null, this.refreshMs);
    // with a filter, changed values may change which rows match
    this.invalidate(added > 0 || removed || this.filter !== '' ? 'rebuild' : 'resort');
  }

  /** A live event: logged, and applied to the association's paths until the next full read. */
  applyEvent(e: SctpEvent): void {
    if (this.paused) {
      this.held.push(e);
      if (this.held.length > EVENT_LOG) this.held.shift();
      return;
    }
    this.eventCount++;
    this.events.push(e);
    if (this.events.length >= 2 * EVENT_LOG) this.events.splice(0, this.events.length - EVENT_LOG);
    if (!e.assoc) return;
    if (e.type === 'path.metrics') this.figures.add(e);
    const key = String(e.assoc.id);
    const row = this.rows.get(key);
    if (!row) return;
    const a = row.assoc;
    // the paths as the event leaves them; the derived fields are recomputed once, at the end
    let paths = a.paths;
    let extra: Partial<Association> | undefined;
    const known = (address: string | undefined) => a.paths.some((p) => p.address === address);
    if (e.type === 'path.state' && e.to && (PATH_STATE_NAMES as readonly string[]).includes(e.to) && known(e.path)) {
      paths = paths.map((p) => (p.address === e.path ? { ...p, state: e.to as PathState } : p));
    } else if (e.type === 'path.primary' && e.to && known(e.to)) {
      paths = paths.map((p) => ({ ...p, primary: p.address === e.to }));
    } else if (e.type === 'assoc.down') {
      extra = { state: 'CLOSED', stateCode: 0 };
    }
    const rto = e.metrics?.rtoMs;
    if (e.path && typeof rto === 'number' && RTO_EVENTS.has(e.type)) {
      const i = paths.findIndex((p) => p.address === e.path && p.rtoMs !== rto);
      if (i >= 0) {
        paths = paths.map((p) => (p.address === e.path ? { ...p, rtoMs: rto } : p));
        const slot = row.slots?.[i];
        if (slot !== undefined) this.hist.push(slot, rto);
      }
    }
    if (paths !== a.paths || extra) this.updateRow(row, withPaths(a, paths, extra));
  }

  /** The row is updated in place (the view holds it); the view is redone only if its sort key or match changed. */
  private updateRow(row: Row, next: Association): void {
    const sortKey = column(this.sort.column).sort;
    const before = sortKey(row);
    const terms = filterTerms(this.filter);
    const matched = matchesTerms(row.assoc, terms, row.link);
    row.assoc = next;
    row.health = assocHealth(next);
    if (row.link !== null) this.linkCache = null;
    if (matchesTerms(next, terms, row.link) !== matched) this.invalidate('rebuild');
    else if (sortKey(row) !== before) this.invalidate('resort');
  }

  /** Matched when the association appears, again only if its peers changed (ports never do): not 10k × every link. */
  private linkFor(a: Association, old?: StateRow): string | null {
    if (this.links.length === 0) return null;
    if (old && samePeers(old.assoc, a)) return old.link;
    return linkOf(this.links, a)?.name ?? null;
  }

  /** Every link of the file with its associations' totals (a link without one is down). */
  private linkStates(): LinkHealth[] {
    if (this.linkCache === null) this.linkCache = linkHealth(this.links, this.linked);
    return this.linkCache;
  }

  /** Each path's history slot: kept (matched by address) from the previous read, with this read's RTO appended. */
  private carrySlots(old: Row | undefined, a: Association, gen: number): number[] {
    const op = old?.assoc.paths;
    return a.paths.map((p, i) => {
      const j = op?.[i]?.address === p.address ? i : (op?.findIndex((x) => x.address === p.address) ?? -1);
      let s = j >= 0 ? old?.slots?.[j] : undefined;
      // a slot already claimed in this generation (a key seen twice) is not shared
      if (s === undefined || this.hist.isKept(s, gen)) s = this.hist.alloc(gen);
      else this.hist.keep(s, gen);
      this.hist.push(s, p.rtoMs);
      return s;
    });
  }

  /** A key press (blessed key names: up, down, pageup, enter, escape, backspace, C-c…). */
  key(name: string, ch?: string): KeyResult {
    if (name === 'C-c') return 'quit';
    if (this.mode === 'filter') return this.filterKey(name, ch);
    if (this.mode === 'help') {
      this.mode = 'table';
      return 'render';
    }
    const page = Math.max(1, this.tableRows() - 1);
    switch (printable(ch) ? ch : name) {
      case 'q':
        return 'quit';
      case 'escape':
        if (this.mode === 'detail') {
          this.mode = 'table';
          return 'render';
        }
        if (this.filter) {
          this.filter = '';
          this.invalidate('rebuild');
          return 'render';
        }
        return 'none';
      case 'up':
      case 'k':
        return this.move(-1);
      case 'down':
      case 'j':
        return this.move(1);
      case 'pageup':
        return this.move(-page);
      case 'pagedown':
      case ' ':
        return this.move(page);
      case 'home':
      case 'g':
        return this.move(-Infinity);
      case 'end':
      case 'G':
        return this.move(Infinity);
      case 'enter':
        this.mode = this.mode === 'detail' ? 'table' : 'detail';
        return 'render';
      case 's': {
        // only the columns on screen: sorting by a hidden one would look like nothing happened
        const order = layoutColumns(this.width, [], this.links.length > 0).map((l) => l.col.id);
        const i = order.indexOf(this.sort.column);
        this.sort = { column: order[(i + 1) % order.length]!, descending: this.sort.descending };
        this.invalidate('resort');
        return 'render';
      }
      case 'S':
        this.sort = { ...this.sort, descending: !this.sort.descending };
        this.invalidate('resort');
        return 'render';
      case '/':
        this.mode = 'filter';
        this.filterBefore = this.filter;
        return 'render';
      case 'p':
        this.paused = !this.paused;
        if (!this.paused) for (const e of this.held.splice(0)) this.applyEvent(e);
        return 'render';
      case '?':
      case 'h':
        this.mode = 'help';
        return 'render';
      default:
        return 'none';
    }
  }

  private filterKey(name: string, ch?: string): KeyResult {
    if (name === 'enter') {
      this.mode = 'table';
      return 'render';
    }
    if (name === 'escape') {
      this.filter = this.filterBefore === this.filter ? '' : this.filterBefore;
      this.mode = 'table';
      this.invalidate('rebuild');
      return 'render';
    }
    if (name === 'backspace') this.filter = this.filter.slice(0, -1);
    else if (printable(ch)) this.filter += ch;
    else return 'none';
    this.invalidate('rebuild');
    return 'render';
  }

  private move(delta: number): KeyResult {
    const before = this.selection.index;
    this.selection = moveSelection(this.selection, this.view(), delta, this.tableRows());
    return this.selection.index === before ? 'none' : 'render';
  }

  private pushHist(name: string, v: number | null): void {
    const h = this.snmpHist.get(name) ?? [];
    h.push(v);
    if (h.length > HISTORY) h.shift();
    this.snmpHist.set(name, h);
  }

  /** rows, sort or filter changed: the view is redone (once) when next needed */
  private invalidate(how: 'resort' | 'rebuild'): void {
    if (how === 'rebuild' || this.viewState === 'ok') this.viewState = how;
  }

  /** the filtered, sorted rows (cached until something changes), with the selection reconciled */
  view(): Row[] {
    if (this.viewState !== 'ok') {
      if (this.viewState === 'rebuild') {
        const all = [...this.rows.values()];
        this.viewCache = sortRows(this.filter ? filterRows(all, this.filter) : all, this.sort);
      } else this.viewCache = sortRows(this.viewCache, this.sort);
      this.viewState = 'ok';
      this.selStale = true;
    }
    if (this.selStale) {
      this.selStale = false;
      this.selection = reconcile(this.selection, this.viewCache, this.tableRows());
    }
    return this.viewCache;
  }

  selected(): Row | null {
    return this.view()[this.selection.index] ?? null;
  }

  /** RTO samples per path of one association, oldest first (only ever built for the selected one). */
  rtoHistory(key: string): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const r = this.rows.get(key);
    if (!r?.slots) return out;
    r.assoc.paths.forEach((p, i) => {
      const s = r.slots![i];
      if (s !== undefined && !out.has(p.address)) out.set(p.address, this.hist.values(s));
    });
    return out;
  }

  /** Screen rows for the panes: header 2, footer 1, the rest split between table and panels. */
  private layout(): { table: number; bottom: number } {
    const body = this.height - 3;
    if (this.mode === 'detail') return { table: 0, bottom: body };
    if (body < 14) return { table: body, bottom: 0 };
    const table = Math.max(6, Math.floor(body * 0.45));
    return { table, bottom: body - table };
  }

  /** data rows visible in the table (its first line is the column header) */
  tableRows(): number {
    return Math.max(1, this.layout().table - 1);
  }

  frame(): Frame {
    const w = this.width;
    const { table, bottom } = this.layout();
    const f: Frame = {
      width: w,
      height: this.height,
      header: { top: 0, left: 0, width: w, height: 2, lines: this.headerLines() },
      footer: { top: this.height - 1, left: 0, width: w, height: 1, lines: [this.footerLine()] },
    };
    if (this.mode === 'detail') {
      const lines = this.detailLines(w, Math.max(4, Math.floor(bottom * 0.45)));
      const dh = Math.min(lines.length, Math.max(4, bottom - 8));
      f.detail = { top: 2, left: 0, width: w, height: dh, lines: lines.slice(0, dh) };
      const sel = this.selected();
      if (sel && bottom - dh >= 6) {
        const hist = this.rtoHistory(sel.key);
        f.chart = {
          top: 2 + dh,
          left: 0,
          width: w,
          height: bottom - dh,
          title: `RTO (ms) per path, last ${HISTORY} samples`,
          series: [...hist.entries()].map(([addr, ys]) => ({
            title: addr,
            x: ys.map((_, i) => String(i - ys.length + 1)),
            y: ys,
          })),
        };
      }
    } else {
      f.table = { top: 2, left: 0, width: w, height: table, lines: this.tableLines(w, table) };
      if (bottom > 0) {
        const lw = Math.floor(w / 2);
        const rw = w - lw - 1;
        const snmpH = Math.min(SNMP_PANEL.length + 1, bottom - 3);
        f.detail = { top: 2 + table, left: 0, width: lw, height: bottom, lines: this.detailLines(lw, bottom) };
        f.snmp = { top: 2 + table, left: lw + 1, width: rw, height: snmpH, lines: this.snmpLines(rw, snmpH) };
        f.events = {
          top: 2 + table + snmpH,
          left: lw + 1,
          width: rw,
          height: bottom - snmpH,
          lines: this.eventLines(rw, bottom - snmpH),
        };
      }
    }
    if (this.mode === 'help') {
      const hw = Math.min(w - 2, 78);
      const hh = Math.min(this.height - 2, HELP.length);
      f.help = {
        top: Math.max(1, Math.floor((this.height - hh) / 2)),
        left: Math.max(0, Math.floor((w - hw) / 2)),
        width: hw,
        height: hh,
        lines: HELP.slice(0, hh).map((t, i) => ({ text: fit(t, hw), bold: i === 0 })),
      };
    }
    return f;
  }

  private headerLines(): Line[] {
    const s = this.snapshot;
    const w = this.width;
    const hz = s ? `HZ ${s.hz.value} (${s.hz.source})` : 'HZ ?';
    const where = this.opts.replay ? `replay ${this.opts.replay}` : `netns ${s?.netns ?? 'current'}`;
    const l1 = ['sctpdiag top', `host ${this.opts.host}`, `kernel ${s?.kernelRelease ?? '?'}`, hz, where];
    if (this.opts.replay && s?.netns) l1.push(`netns ${s.netns}`);
    const src = this.source;
    let events = EVENTS_TEXT[src.source](src);
    let tone: Tone = src.source === 'degraded' ? 'warn' : 'normal';
    const refresh = this.opts.replay
      ? 'static capture'
      : `refresh ${formatSeconds(this.refreshMs)}${this.refreshMs > this.opts.baseIntervalMs ? ' adaptive' : ''}` +
        (this.lastReadMs !== null ? ` (read ${Math.round(this.lastReadMs)} ms${this.age()})` : '');
    // which types come from where, and why (replaces the reason: it says it per type)
    if (src.types) events = `${src.source === 'bpf' ? events : `events ${src.source === 'degraded' ? 'DEGRADED' : src.source}`} · ${src.types}`;
    const l2 = [events, refresh];
    const links = this.linkSummary();
    if (links?.down) {
      // first, so a narrow terminal still shows it
      l2.unshift(links.text);
      tone = 'fail';
    } else if (links) l2.push(links.text);
    if (this.paused) l2.unshift('PAUSED');
    if (s) {
      const n = s.associations.length;
      l2.push(`${n} assoc${n === 1 ? '' : 's'} ${this.established} ESTAB`);
    }
    if (this.filter) l2.push(`filter "${this.filter}" ${this.view().length}/${this.rows.size}`);
    const d = this.drift;
    if (d) l2.push(d.drifted ? `sysctl DRIFT ${d.drifted} vs ${d.profile}` : `sysctl = ${d.profile}`);
    if ((d?.drifted || links?.short) && tone !== 'fail') tone = 'warn';
    return [
      { text: fit(l1.join(' · '), w), bold: true },
      { text: fit(l2.join(' · '), w), tone },
    ];
  }

  /** `links 3/3 up`, `links 1/3 DOWN stp-b,hss-2`; `… below min-active hss-1`: up on fewer ACTIVE paths. */
  private linkSummary(): { text: string; down: boolean; short: boolean } | null {
    if (this.links.length === 0 || !this.snapshot) return null;
    const all = this.linkStates();
    const down = all.filter((l) => !l.up).map((l) => l.spec.name);
    const short = all.filter((l) => l.up && l.activePaths < l.spec.minActive).map((l) => l.spec.name);
    let text = down.length ? `links ${down.length}/${all.length} DOWN ${down.join(',')}` : `links ${all.length}/${all.length} up`;
    if (short.length) text += ` · below min-active ${short.join(',')}`;
    return { text, down: down.length > 0, short: short.length > 0 };
  }

  /** `, 12s ago` once the last full read is a second old or more (slow adaptive refresh) */
  private age(): string {
    if (this.now === null || this.lastReadAt === null) return '';
    const s = Math.floor((this.now - this.lastReadAt) / 1000);
    return s >= 1 ? `, ${s}s ago` : '';
  }

  private footerLine(): Line {
    if (this.mode === 'filter') return { text: fit(`/ filter: ${this.filter}_   Enter keep · Esc cancel`, this.width), inverse: true };
    const keys =
      this.mode === 'detail'
        ? 'Enter/Esc back  ↑↓ prev/next  p pause  ? help  q quit'
        : '↑↓jk PgUp/Dn  Enter detail  s/S sort  / filter  p pause  ? help  q quit';
    return { text: fit(keys, this.width), inverse: true };
  }

  private message(): Line[] | null {
    if (this.error)
      return [
        { text: this.error.message, tone: 'fail' },
        ...(this.error.hint ? [{ text: `hint: ${this.error.hint}`, tone: 'dim' as Tone }] : []),
        { text: this.opts.replay ? '' : `retrying every ${formatSeconds(this.refreshMs)}`, tone: 'dim' },
      ];
    if (!this.snapshot) return [{ text: 'reading /proc/net/sctp…', tone: 'dim' }];
    if (this.snapshot.associations.length === 0) {
      const eps = this.snapshot.endpoints.length;
      const out: Line[] = [
        { text: 'no SCTP associations', tone: 'info' },
        { text: eps ? `${eps} endpoint(s) bound or listening (see: sctpdiag status -e)` : 'no SCTP endpoints either', tone: 'dim' },
      ];
      if (this.links.length) out.push({ text: `every link is down: ${this.links.map((l) => l.name).join(', ')}`, tone: 'fail' });
      return out;
    }
    return null;
  }

  private tableLines(w: number, h: number): Line[] {
    const rows = this.view();
    const sel = this.selection;
    const cols = layoutColumns(w, rows.slice(sel.offset, sel.offset + h), this.links.length > 0);
    const lines: Line[] = [titleLine(formatHeader(cols, this.sort), w)];
    const msg = this.message();
    if (msg) return [...lines, ...msg.map((l) => ({ ...l, text: fit(l.text, w) }))].slice(0, h);
    if (rows.length === 0) lines.push({ text: fit(`no association matches "${this.filter}" (Esc clears the filter)`, w), tone: 'dim' });
    const end = Math.min(rows.length, sel.offset + h - 1);
    for (let i = sel.offset; i < end; i++) {
      const r = rows[i]!;
      const line: Line = { text: formatRow(r, cols), tone: healthTone(r.health) };
      if (r.assoc.state !== 'ESTABLISHED' && r.health === 'ok') line.tone = 'info';
      if (i === sel.index) line.inverse = true;
      lines.push(line);
    }
    return lines;
  }

  private detailLines(w: number, h: number): Line[] {
    const r = this.selected();
    if (!r) return [titleLine('detail', w), { text: 'no association selected', tone: 'dim' } as Line].slice(0, h);
    const a = r.assoc;
    const out = [titleLine(`assoc ${a.id} ${a.state} ${a.style} ${a.localPort}→${a.peerPort} ${ownerText(a)}`, w)];
    const lh = r.link === null ? undefined : this.linkStates().find((l) => l.spec.name === r.link);
    if (lh)
      out.push({
        text: fit(
          `link ${lh.spec.name}: ${lh.up ? 'up' : 'DOWN'} · ${lh.activePaths} ACTIVE path(s), min-active ${lh.spec.minActive} · ${lh.associations} association(s)`,
          w,
        ),
        tone: !lh.up ? 'fail' : lh.activePaths < lh.spec.minActive ? 'warn' : 'dim',
      });
    const ascii = this.opts.ascii === true;
    const hist = this.rtoHistory(r.key);
    const addrW = Math.min(39, Math.max(9, ...a.paths.map((p) => p.address.length)));
    for (const p of a.paths) {
      const mark = `${p.primary ? 'P' : ' '}${p.active ? (ascii ? '>' : '▶') : ' '}`;
      const base = `${mark} ${fit(p.address, addrW)} ${fit(p.state, 8)} rto ${String(p.rtoMs).padStart(4)} hb ${p.heartbeatArmed ? 'on ' : 'off'}`;
      const room = w - base.length - 1;
      const spark = room >= 4 ? ' ' + sparkline(hist.get(p.address) ?? [], Math.min(room, 20), ascii) : '';
      const tone: Tone =
        p.state === 'INACTIVE' ? 'fail' : p.state === 'PF' || p.state === 'UNKNOWN' ? 'warn' : p.state === 'ACTIVE' ? 'good' : 'info';
      out.push({ text: fit(base + spark, w), tone });
      const f = this.now === null ? null : this.figures.figures(a.id, p.address, this.now);
      if (f) out.push(this.figureLine(f, a.heartbeatIntervalMs, p.rtoMs, w));
    }
    out.push({ text: fit(`P primary · ${ascii ? '>' : '▶'} active (inferred) · paths ${healthSummary(a.paths)}`, w), tone: 'dim' });
    out.push({
      text: fit(
        `rtxc ${a.retransmittedChunks}${r.rtxcDelta ? ` (+${r.rtxcDelta})` : ''} · txq ${a.txQueue} rxq ${a.rxQueue} · hb ${a.heartbeatIntervalMs} ms · ` +
          `streams ${a.inStreams}/${a.outStreams} · maxrt ${a.maxRetrans}`,
        w,
      ),
    });
    out.push({ text: fit(`local ${a.localAddresses.map((l) => (l.primarySource ? `${l.address}*` : l.address)).join(' ') || '-'}`, w) });
    for (const f of a.findings) {
      if (f.code === 'retransmissions') continue;
      const tone: Tone = f.severity === 'fail' ? 'fail' : f.severity === 'warn' ? 'warn' : 'dim';
      out.push({ text: fit(`${severityLabel(f.severity)} ${f.message}`, w), tone });
    }
    return out.slice(0, h);
  }

  /** A path's bpf figures under its row, the RTT sample's age first (a narrow pane cuts the end). */
  private figureLine(f: LiveFigures, hbMs: number, rtoMs: number, w: number): Line {
    // without an RTT sample (SACK figures only), the freshest figure's age
    const age = rttAgeMs(f) ?? Math.min(...Object.values(f).map((x) => x.ageMs));
    const stale = age > staleAfterMs(hbMs, rtoMs, this.opts.metricsPrintMs ?? 0);
    const parts = [`${formatAge(age)} ago${stale ? ' STALE' : ''}`];
    if (f.srttMs) parts.push(`srtt ${f.srttMs.value}${f.rttvarMs ? `±${f.rttvarMs.value}` : ''} ms`);
    if (f.cwndBytes) parts.push(`cwnd ${formatBytes(f.cwndBytes.value)}`);
    if (f.ssthreshBytes) parts.push(`ssth ${formatBytes(f.ssthreshBytes.value)}`);
    if (f.flightBytes) parts.push(`flight ${formatBytes(f.flightBytes.value)}`);
    if (f.pmtuBytes) parts.push(`pmtu ${f.pmtuBytes.value}`);
    if (f.errorCount) parts.push(`err ${f.errorCount.value}${f.maxPathRetrans ? `/${f.maxPathRetrans.value}` : ''}`);
    return { text: fit(`     ${parts.join(' ')}`, w), tone: stale ? 'warn' : 'dim' };
  }

  private snmpLines(w: number, h: number): Line[] {
    const out = [titleLine('SNMP rates (per s)', w)];
    const labelW = 12;
    const valW = 8;
    const sparkW = Math.max(0, w - labelW - valW - 2);
    for (const c of SNMP_PANEL) {
      const hist = this.snmpHist.get(c.name) ?? [];
      const last = hist.length ? hist[hist.length - 1]! : null;
      const val = c.gauge ? (last === null ? '-' : String(last)) : formatRate(last);
      const tone: Tone = !c.gauge && last !== null && last > 0 ? c.moving : 'normal';
      out.push({
        text: `${fit(c.label, labelW)} ${sparkline(hist, sparkW, this.opts.ascii === true)} ${fit(val, valW, true)}`.slice(0, w),
        tone,
      });
    }
    return out.slice(0, h);
  }

  private eventLines(w: number, h: number): Line[] {
    const held = this.held.length ? ` (${this.held.length} held while paused)` : '';
    const out = [titleLine(`events, newest first: ${this.eventCount}${held}`, w)];
    if (this.events.length === 0)
      out.push({
        text: fit(this.opts.replay ? 'a capture has no live events' : 'no events yet', w),
        tone: 'dim',
      });
    // newest first; only the events that fit are formatted
    for (let i = this.events.length - 1; i >= 0 && out.length < h; i--) {
      const e = this.events[i]!;
      out.push({ text: fit(formatEvent(e), w), tone: eventTone(e) });
    }
    return out.slice(0, h);
  }
}

/** a row and the full read that last saw it */
interface StateRow extends Row {
  gen: number;
}

/** the same peer addresses, in order (what a link's peer= matches) */
function samePeers(a: Association, b: Association): boolean {
  return a.paths.length === b.paths.length && a.paths.every((p, i) => p.address === b.paths[i]!.address);
}

/** a pane's title bar (and the table's column header) */
function titleLine(text: string, w: number): Line {
  return { text: fit(text, w), inverse: true, bold: true };
}

function printable(ch: string | undefined): ch is string {
  return ch !== undefined && ch.length === 1 && ch >= ' ' && ch !== '\x7f';
}
