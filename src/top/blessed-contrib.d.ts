/**
 * The part of blessed-contrib 4.11 that `sctpdiag top` uses (the package ships
 * no types): the line chart.
 */
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  export interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }

  export interface LineOptions extends Widgets.BoxOptions {
    style?: { line?: string; text?: string; baseline?: string } & Record<string, unknown>;
    xLabelPadding?: number;
    xPadding?: number;
    numYLabels?: number;
    showLegend?: boolean;
    legend?: { width?: number };
    wholeNumbersOnly?: boolean;
  }

  export interface Line extends Widgets.BoxElement {
    setData(data: LineSeries[]): void;
  }
}

/** The line chart alone (importing the package index loads every widget: ~170 ms). */
declare module 'blessed-contrib/lib/widget/charts/line.js' {
  import type { Line, LineOptions } from 'blessed-contrib';
  function line(options: LineOptions): Line;
  export = line;
}
