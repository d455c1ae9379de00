/**
 * The one JSON writer of --json: indented for a person at a terminal, compact
 * when piped (10k associations are 17 MB indented, 8 MB compact), and then
 * written in ~1 MB pieces, a large array element by element: holding the whole
 * document and its Buffer copy was ~25 MB of peak RSS at 10k.
 */
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
