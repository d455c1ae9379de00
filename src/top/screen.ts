/**
 * The only module of `sctpdiag top` that touches blessed: draws Frames built by state.ts (only the rows that fit),
 * forwards keys and resizes, and restores the terminal (destroy()).
 */
import blessed from 'blessed';
import { createRequire } from 'node:module';
import type { Line as ChartWidget, LineSeries } from 'blessed-contrib';
import type { Frame, Line, Pane } from './state.js';
import type { Tone } from './view.js';

const require = createRequire(import.meta.url);
type LineFactory = typeof import('blessed-contrib/lib/widget/charts/line.js');

export interface ScreenIO {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** terminfo name; default: chooseTerminal(process.env) */
  terminal?: string;
  /** plain ASCII line drawing (no UTF-8) */
  ascii?: boolean;
}

/**
 * A terminfo name blessed handles: its parser chokes on some modern entries (screen-256color prints errors,
 * tmux-256color falls back silently); tmux and screen speak xterm well enough.
 */
export function chooseTerminal(env: NodeJS.ProcessEnv = process.env): string {
  const t = env.TERM ?? '';
  const c256 = /256col/.test(t) || env.COLORTERM !== undefined;
  if (t === '' || t === 'dumb') return 'xterm';
  if (/^(tmux|screen)/.test(t)) return c256 ? 'xterm-256color' : 'xterm';
  if (/^(xterm|rxvt|linux|vt1\d\d|alacritty|kitty|foot)/.test(t)) return /^(alacritty|kitty|foot)/.test(t) ? 'xterm-256color' : t;
  return c256 ? 'xterm-256color' : 'xterm';
}

/** Is the locale UTF-8 (sparklines, arrows, braille chart)? */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const l = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(l);
}

const TONE_TAG: Record<Tone, string | null> = {
  normal: null,
  good: 'green-fg',
  info: 'cyan-fg',
  warn: 'yellow-fg',
  fail: 'red-fg',
  dim: 'gray-fg',
};

function tagLine(l: Line): string {
  let s = blessed.escape(l.text);
  const tags: string[] = [];
  const tone = l.tone ? TONE_TAG[l.tone] : null;
  if (tone) tags.push(tone);
  if (l.bold) tags.push('bold');
  if (l.inverse) tags.push('inverse');
  for (const t of tags) s = `{${t}}${s}{/${t}}`;
  return s;
}

const ASCII_MAP: Record<string, string> = { '·': '|', '→': '>', '▲': '^', '▼': 'v', '▶': '>', '…': '~', '↑': '^', '↓': 'v', '—': '-' };
const NON_ASCII = new RegExp(`[${Object.keys(ASCII_MAP).join('')}]`, 'g');

/** For terminals without UTF-8: the few non-ASCII characters top prints. */
export function toAscii(s: string): string {
  return s.replace(NON_ASCII, (c) => ASCII_MAP[c]!);
}

/** the text panes of a Frame, in drawing order */
const PANES = ['header', 'table', 'detail', 'snmp', 'events', 'footer', 'help'] as const;

const SERIES_COLOURS = ['yellow', 'cyan', 'magenta', 'green', 'blue', 'white', 'red'];

export class TopScreen {
  readonly screen: blessed.Widgets.Screen;
  private boxes = new Map<string, blessed.Widgets.BoxElement>();
  private chart: ChartWidget | null = null;
  private chartGeom = '';
  private destroyed = false;
  private readonly ascii: boolean;

  constructor(
    io: ScreenIO,
    onKey: (name: string, ch: string | undefined) => void,
    onResize: (width: number, height: number) => void,
  ) {
    this.screen = blessed.screen({
      input: io.input,
      output: io.output,
      terminal: io.terminal ?? chooseTerminal(),
      smartCSR: true,
      fullUnicode: !io.ascii,
      warnings: false,
      autoPadding: false,
      dockBorders: false,
      title: 'sctpdiag top',
      // quit and everything else goes through onKey; no blessed defaults
      ignoreLocked: ['C-c'],
    } as blessed.Widgets.IScreenOptions);
    this.ascii = io.ascii === true;
    // UTF-8 terminal: print line-drawing characters as they are, never through
    // the ACS charset (tmux/screen turn ACS '·' into '~'); NCURSES_NO_UTF8_ACS semantics
    if (!this.ascii) (this.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    this.screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => {
      const name = key?.full ?? key?.name ?? '';
      // blessed reports a CR as 'return' and then again as 'enter'
      if (key?.name === 'return') return;
      onKey(key?.name === 'enter' ? 'enter' : name, ch);
    });
    this.screen.on('resize', () => onResize(this.width, this.height));
  }

  get width(): number {
    return Number(this.screen.width);
  }

  get height(): number {
    return Number(this.screen.height);
  }

  private box(name: string, p: Pane): blessed.Widgets.BoxElement {
    let b = this.boxes.get(name);
    if (!b) {
      b = blessed.box({ parent: this.screen, tags: true, wrap: false, scrollable: false });
      this.boxes.set(name, b);
    }
    b.top = p.top;
    b.left = p.left;
    b.width = p.width;
    b.height = p.height;
    return b;
  }

  draw(f: Frame): void {
    if (this.destroyed) return;
    for (const name of PANES) {
      const p = f[name];
      if (!p) {
        this.boxes.get(name)?.hide();
        continue;
      }
      const b = this.box(name, p);
      const text = p.lines.slice(0, p.height).map(tagLine).join('\n');
      b.setContent(this.ascii ? toAscii(text) : text);
      b.show();
      if (name === 'help') {
        b.style = { bg: 'blue', fg: 'white' };
        b.setFront();
      }
    }
    this.drawChart(f);
    this.screen.render();
  }

  private drawChart(f: Frame): void {
    const c = f.chart;
    const geom = c ? `${c.top},${c.left},${c.width},${c.height}` : '';
    if (this.chart && geom !== this.chartGeom) {
      // the drawille canvas is sized once, on attach: rebuild on any change
      this.chart.destroy();
      this.chart = null;
    }
    this.chartGeom = geom;
    if (!c || c.series.length === 0) return;
    if (!this.chart) {
      // loaded on first use, not with the screen; no `parent`: the canvas is made on 'attach', after construction
      const line = require('blessed-contrib/lib/widget/charts/line.js') as LineFactory;
      this.chart = line({
        top: c.top,
        left: c.left,
        width: c.width,
        height: c.height,
        label: ` ${c.title} `,
        border: { type: 'line' },
        showLegend: c.width >= 60,
        legend: { width: 26 },
        wholeNumbersOnly: true,
        xLabelPadding: 3,
        xPadding: 5,
        numYLabels: Math.max(2, Math.min(5, c.height - 6)),
        style: { line: 'yellow', text: 'green', baseline: 'white', border: { fg: 'gray' } },
      });
      this.screen.append(this.chart);
    }
    const series: LineSeries[] = c.series.map((s, i) => ({
      title: s.title,
      // a line needs two points
      x: s.x.length === 1 ? ['-1', s.x[0]!] : s.x,
      y: s.y.length === 1 ? [s.y[0]!, s.y[0]!] : s.y,
      style: { line: SERIES_COLOURS[i % SERIES_COLOURS.length]! },
    }));
    this.chart.setData(series);
  }

  /** Restore the terminal (idempotent; safe from any exit path). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.screen.destroy();
    } catch {
      /* already torn down */
    }
  }
}
