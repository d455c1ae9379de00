/** The one JSON writer of --json: indented at a terminal, compact when piped, written in ~1 MB pieces (a large array element by element) so the whole document is never held twice. */
const PIECE = 1 << 20;

export function writeJson(
  value: unknown,
  write: (s: string) => void = (s) => void process.stdout.write(s),
  pretty: boolean = process.stdout.isTTY === true,
): void {
  if (pretty || value === null || typeof value !== 'object' || Array.isArray(value) || 'toJSON' in value) {
    write((pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n');
    return;
  }
  let buf = '{';
  let first = true;
  const flush = () => {
    if (buf.length > PIECE) {
      write(buf);
      buf = '';
    }
  };
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    buf += (first ? '' : ',') + JSON.stringify(k) + ':';
    first = false;
    if (!Array.isArray(v)) buf += JSON.stringify(v);
    else {
      buf += '[';
      v.forEach((x: unknown, i) => {
        buf += (i ? ',' : '') + (JSON.stringify(x) ?? 'null');
        flush();
      });
      buf += ']';
    }
    flush();
  }
  write(buf + '}\n');
}
