/**
 * Terminal styling: colour only when stdout is a TTY, NO_COLOR is unset (https://no-color.org) and --no-color was
 * not given. Every renderer takes a Style so tests render deterministic plain text.
 */
const wrap = (on: boolean, open: number, close: number) => (s: string) =>
  on ? `\u001b[${open}m${s}\u001b[${close}m` : s;

export function makeStyle(color: boolean) {
  return {
    color,
    bold: wrap(color, 1, 22),
    dim: wrap(color, 2, 22),
    red: wrap(color, 31, 39),
    yellow: wrap(color, 33, 39),
    green: wrap(color, 32, 39),
    cyan: wrap(color, 36, 39),
  };
}

export type Style = ReturnType<typeof makeStyle>;

export const plain: Style = makeStyle(false);

/** Decide colour from the option, the environment and the stream. */
export function wantColor(option: boolean | undefined, stream: { isTTY?: boolean }, env = process.env): boolean {
  if (option === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

/** The text without its ANSI colour codes (what a terminal shows of it). */
export function stripColour(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Lay out rows as left-aligned columns separated by two spaces (like `ss`). */
export function table(rows: readonly (readonly string[])[], rightAlign: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, stripColour(c).length)));
  return rows.map((r) =>
    r
      .map((c, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - stripColour(c).length);
        if (rightAlign.has(i)) return pad + c;
        return i === r.length - 1 ? c : c + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}
