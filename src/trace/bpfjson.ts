/**
 * `bpftrace -f json` output, one {"type", "data"} object per line (0.17: attached_probes, printf, map, hist,
 * stats, time, join, syscall, lost_events; newer: errorf, warnf, runtime_error, error, warning). Unknown types
 * are ignored, non-JSON lines counted as malformed. The probes print `SCTPDIAG <tag> key=value …` (never JSON
 * from printf: bpftrace does not escape). Pure.
 */

export type BpfRecord =
  | { kind: 'attached'; probes: number }
  | { kind: 'printf'; text: string }
  | { kind: 'map'; name: string; entries: Record<string, unknown> }
  | { kind: 'time'; text: string }
  | { kind: 'lost'; count: number }
  | { kind: 'message'; level: 'warn' | 'fail'; type: string; text: string }
  | { kind: 'unknown'; type: string }
  | { kind: 'malformed'; reason: string; line: string };

/** Longest line parsed: a map print is one line (~170 KB at 4096 keys); room for 262144 keys, not a runaway line. */
export const MAX_LINE = 16 * 1024 * 1024;

/** Parse one line of bpftrace JSON output; null for a blank line. */
export function parseBpftraceLine(line: string): BpfRecord | null {
  const text = line.trim();
  if (text === '') return null;
  const bad = (reason: string): BpfRecord => ({ kind: 'malformed', reason, line: text.slice(0, 200) });
  if (text.length > MAX_LINE) return bad('line too long');
  if (!text.startsWith('{')) return bad('not a JSON object');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('not a JSON object');
  const o = v as { type?: unknown; data?: unknown };
  if (typeof o.type !== 'string') return bad('no "type"');
  const data = o.data;
  switch (o.type) {
    case 'attached_probes': {
      const n = (data as { probes?: unknown } | null)?.probes;
      return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? { kind: 'attached', probes: n } : bad('attached_probes without a count');
    }
    case 'printf':
      return typeof data === 'string' ? { kind: 'printf', text: data } : bad('printf without text');
    case 'time':
      return typeof data === 'string' ? { kind: 'time', text: data.trim() } : bad('time without text');
    case 'lost_events': {
      const n = typeof data === 'number' ? data : (data as { events?: unknown } | null)?.events;
      return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? { kind: 'lost', count: n } : bad('lost_events without a count');
    }
    case 'map': {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return bad('map without data');
      const keys = Object.keys(data);
      if (keys.length !== 1) return bad('map data must hold one map');
      const name = keys[0]!;
      const entries = (data as Record<string, unknown>)[name];
      if (typeof entries !== 'object' || entries === null || Array.isArray(entries))
        return { kind: 'map', name, entries: { '': entries } }; // scalar map: @x = 1
      return { kind: 'map', name, entries: entries as Record<string, unknown> };
    }
    case 'errorf':
    case 'warnf':
    case 'runtime_error':
    case 'error':
    case 'warning': {
      // bpftrace's own messages: a string, or an object with a message/msg field
      const d = data as { message?: unknown; msg?: unknown } | string | null;
      const raw = typeof d === 'string' ? d : typeof d?.message === 'string' ? d.message : typeof d?.msg === 'string' ? d.msg : JSON.stringify(data ?? null);
      const level = o.type === 'warnf' || o.type === 'warning' ? 'warn' : 'fail';
      return { kind: 'message', level, type: o.type, text: raw.trim().slice(0, 500) };
    }
    default:
      return { kind: 'unknown', type: o.type };
  }
}

export interface ProbeLine {
  tag: string;
  fields: Record<string, string>;
}

const LINE = /^SCTPDIAG [a-z][a-z0-9_]{0,31}(?: [a-z][a-z0-9_]{0,15}=[0-9a-fx,-]{1,64})*$/;

/** Parse `SCTPDIAG <tag> k=v …` (one printf record); null if it is not one of ours. */
export function parseProbeLine(text: string): ProbeLine | null {
  if (!text.startsWith('SCTPDIAG ')) return null;
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  // one anchored regex validates the whole record; then a plain split
  if (t.length > 4096 || !LINE.test(t)) return null;
  const parts = t.split(' ');
  const fields: Record<string, string> = {};
  for (let i = 2; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    fields[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return { tag: parts[1]!, fields };
}
