/**
 * Benchmark: event ingest rate — bpftrace JSON lines per second through the
 * line parser, the bpf→event mapper and JSON serialisation (what `trace
 * --json` does per line). The stream is recorded bpftrace 0.17 output from the
 * lab kernel (two-path-failover/bpftrace_json_sample.txt: tracepoint printf,
 * map and time lines) interleaved with sctpdiag probe records (path state,
 * heartbeat, in-kernel metric maps).
 */
import { readFileSync } from 'node:fs';
import { packageFile as packagePath } from '../src/package-files.js';
import { parseBpftraceLine } from '../src/trace/bpfjson.js';
import { BpfEventMapper } from '../src/trace/bpfmap.js';

export interface BenchResult {
  name: string;
  metrics: Record<string, number>;
}

function recordedStream(): string[] {
  const recorded = readFileSync(packagePath('test/fixtures/linux-6.1-debian/two-path-failover/bpftrace_json_sample.txt'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const pf = (t: string) => JSON.stringify({ type: 'printf', data: `${t}\n` });
  const ours = [
    pf('SCTPDIAG path ts=1000 asoc=3 lport=6001 rport=5001 cmd=2 err=0 from=2 to=1 fam=2 v4=33554698 w=0,0,0,0 afam=2 av4=33554954 aw=0,0,0,0'),
    pf('SCTPDIAG path ts=1000 asoc=9 lport=7001 rport=7000 cmd=1 err=0 from=1 to=0 fam=10 v4=0 w=50331901,0,0,33554432 afam=10 av4=0 aw=50331901,0,0,16777216'),
    pf('SCTPDIAG hb ts=1000 asoc=3 lport=6001 rport=5001 kind=1 rtt=1234567 fam=2 v4=33554698 w=0,0,0,0'),
    '{"type": "map", "data": {"@sctpdiag_m_cwnd": {"3,2,33554698,0,0,0,0": 4380, "3,2,33554954,0,0,0,0": 8760}}}',
    '{"type": "map", "data": {"@sctpdiag_m_rwnd": {"3": 106496}}}',
    pf('SCTPDIAG metrics_end ts=1000'),
  ];
  const out: string[] = [];
  for (let i = 0; i < recorded.length; i++) {
    out.push(recorded[i]!);
    out.push(ours[i % ours.length]!);
  }
  return out;
}

export async function benchIngest(opts: { smoke: boolean }): Promise<BenchResult> {
  const stream = recordedStream();
  const total = opts.smoke ? 100_000 : 1_000_000;
  const mapper = new BpfEventMapper({ netns: null, hz: 250 });
  let events = 0;
  let bytes = 0;
  // warm-up
  for (let i = 0; i < 30_000; i++) {
    const r = parseBpftraceLine(stream[i % stream.length]!);
    if (r) for (const e of mapper.map(r)) bytes += JSON.stringify(e).length;
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const r = parseBpftraceLine(stream[i % stream.length]!);
    if (!r) continue;
    for (const e of mapper.map(r)) {
      events++;
      bytes += JSON.stringify(e).length;
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    name: 'trace-ingest',
    metrics: {
      lines: total,
      events,
      seconds: Math.round(s * 1000) / 1000,
      linesPerSecond: Math.round(total / s),
      eventsPerSecond: Math.round(events / s),
      usPerLine: Math.round((s / total) * 1e6 * 100) / 100,
      jsonBytes: bytes,
    },
  };
}

// run directly: node dist/bench/ingest.js [--smoke]
if (/ingest\.js$/.test(process.argv[1] ?? '')) {
  benchIngest({ smoke: process.argv.includes('--smoke') }).then((r) => console.log(JSON.stringify(r)));
}
