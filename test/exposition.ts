/**
 * A small, strict parser for the Prometheus text exposition format (0.0.4),
 * enough to check the exporter's own output in tests and the lab: HELP/TYPE
 * lines, samples with labels (escaped values), no timestamps expected.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(t: string, line: number): number {
  if (t === '+Inf') return Infinity;
  if (t === '-Inf') return -Infinity;
  if (t === 'NaN') return NaN;
  const v = Number(t);
  if (t === '' || Number.isNaN(v)) throw new Error(`line ${line}: bad value ${JSON.stringify(t)}`);
  return v;
}

function parseLabels(s: string, line: number): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: bad labels`);
    const key = s.slice(i, eq).trim();
    if (!LABEL.test(key)) throw new Error(`line ${line}: bad label name ${JSON.stringify(key)}`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let j = eq + 2;
    let v = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const n = s[++j];
        v += n === 'n' ? '\n' : n ?? '';
      } else v += s[j];
    }
    if (j >= s.length) throw new Error(`line ${line}: unterminated label value`);
    if (key in out) throw new Error(`line ${line}: duplicate label ${key}`);
    out[key] = v;
    i = j + 1;
    if (s[i] === ',') i++;
  }
  return out;
}

/** Parse exposition text into families (by metric family name). Throws on malformed input. */
export function parseExposition(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  const fam = (name: string): Family => {
    let f = fams.get(name);
    if (!f) fams.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    const line = raw.trimEnd();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // comment
      if (!NAME.test(m[2]!)) throw new Error(`line ${n}: bad metric name ${m[2]}`);
      if (m[1] === 'HELP') fam(m[2]!).help = m[3] ?? '';
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`line ${n}: bad type ${m[3]}`);
        fam(m[2]!).type = m[3]!;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/.exec(line);
    if (!m) throw new Error(`line ${n}: not a sample: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const labels = m[3] !== undefined ? parseLabels(m[3], n) : {};
    const value = parseValue(m[4]!, n);
    // a sample belongs to the family declared for it (histogram/summary suffixes)
    const base = fams.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    fam(fams.has(base) ? base : name).samples.push({ name, labels, value });
  });
  return fams;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sampleSum(fams: Map<string, Family>, name: string, match: Record<string, string> = {}): number {
  const f = fams.get(name);
  if (!f) return 0;
  return f.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
