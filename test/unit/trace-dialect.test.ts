// Probe syntax per bpftrace version, one refused probe file dropped (not all of
// them), bpftrace's own messages surfaced, both map-size variables set.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failoverSeries } from '../helpers.js';
import { EventBus, type SctpEvent } from '../../src/events/types.js';
import { startEventPipeline } from '../../src/trace/pipeline.js';
import {
  dialectFor,
  failingProbe,
  layoutProgram,
  loadProbeFiles,
  parseBpftraceVersion,
  renderProbe,
  detectCapabilities,
  type Capabilities,
} from '../../src/trace/probes.js';
import * as probesModule from '../../src/trace/probes.js';
import { parseBpftraceLine } from '../../src/trace/bpfjson.js';
import { BpfEventMapper } from '../../src/trace/bpfmap.js';
import { bpftraceEnv } from '../../src/trace/runner.js';

const files = loadProbeFiles();

test('bpftrace --version text → version', () => {
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.11.3\n'), [0, 11, 3]);
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.17.0'), [0, 17, 0]);
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.27.0-dirty'), [0, 27, 0]);
  assert.equal(parseBpftraceVersion('command not found'), null);
});

test('0.17 and older: the probes as written (kfunc, args->, delete(@m[k]), no config block)', () => {
  for (const v of [[0, 17, 0], null] as const) {
    const p = layoutProgram(files, v);
    for (const f of files) assert.ok(p.text.includes(f.text), `${f.name} unchanged for ${JSON.stringify(v)}`);
    assert.doesNotMatch(p.text, /^config =/m);
  }
});

test('0.21+ (trixie 0.23, forky 0.27): fentry/fexit, args., delete(@m, k), missing_probes = "warn"', () => {
  for (const v of [[0, 23, 2], [0, 27, 0]] as const) {
    const p = layoutProgram(files, v);
    assert.match(p.text.split('\n')[0]!, /^config = \{ missing_probes = "warn" \}$/);
    assert.doesNotMatch(p.text, /^k(?:ret)?func:/m);
    assert.doesNotMatch(p.text, /\bargs->/);
    assert.doesNotMatch(p.text, /delete\(@\w+\[/);
    assert.match(p.text, /^fentry:sctp:sctp_assoc_control_transport$/m);
    assert.match(p.text, /^fexit:sctp:sctp_assoc_control_transport$/m);
    assert.match(p.text, /delete\(@sctpdiag_ct_old, tid\)/);
    assert.match(p.text, /args\.asoc->base\.net->ns\.inum/);
  }
  const d20 = dialectFor([0, 20, 0]);
  assert.deepEqual([d20.fentry, d20.argsDot, d20.deleteComma], [true, false, false]);
});

test('rendering keeps every line where it was (an error line still names the file)', () => {
  for (const f of files) {
    assert.equal(renderProbe(f.text, dialectFor([0, 27, 0])).split('\n').length, f.text.split('\n').length, f.name);
  }
  const p = layoutProgram(files, [0, 27, 0]);
  const lines = p.text.split('\n');
  for (const s of p.starts) assert.equal(lines[s.line - 1], `// ---- ${s.name}.bt`);
});

test('the probe file a bpftrace error is about: by line, or by the probe it could not attach', () => {
  const p = layoutProgram(files, [0, 27, 0]);
  const ps = p.starts.find((s) => s.name === 'path-state')!;
  assert.equal(failingProbe(`stdin:${ps.line + 20}:3-30: ERROR: Unknown function: delete\n`, p, files), 'path-state');
  assert.equal(failingProbe('ERROR: Unable to attach probe: fentry:sctp:sctp_assoc_set_primary\n', p, files), 'primary');
  assert.equal(failingProbe('ERROR: kfunc:sctp:nope: no BTF\n', p, files), null);
  // a location in bpftrace's own library does not name a line of ours; the quoted source line does
  const lib = 'stdlib/base.bt:12:3-20: ERROR: no such function\n  delete(@sctpdiag_ct_old, tid);\n  ~~~~~~~~~~~~~~~\n';
  assert.equal(failingProbe(lib, p, files), 'path-state');
  // a warning quoting our line, then an error that is about no probe file: nothing to drop
  const warned = `stdin:${ps.line + 20}:3-32: WARNING: return value discarded\n  delete(@sctpdiag_ct_old, tid);\n  ~~~~\nERROR: unable to open output file '/dev/fd/4'\n`;
  assert.equal(failingProbe(warned, p, files), null);
});

test('bpftrace errorf / warnf / runtime_error JSON: surfaced as events, not dropped', () => {
  const m = new BpfEventMapper({ netns: 'a', hz: 250 });
  for (const [line, sev] of [
    ['{"type": "warnf", "data": "slow path"}', 'warn'],
    ['{"type": "errorf", "data": "bad thing"}', 'fail'],
    ['{"type": "runtime_error", "data": {"message": "map full"}}', 'fail'],
  ] as const) {
    const r = parseBpftraceLine(line)!;
    assert.equal(r.kind, 'message');
    const [e] = m.map(r);
    assert.equal(e?.type, 'source.changed');
    assert.equal(e?.severity, sev);
    assert.match(e?.reason ?? '', /^bpftrace (warnf|errorf|runtime_error): (slow path|bad thing|map full)$/);
  }
});

test('map size: BPFTRACE_MAX_MAP_KEYS (0.20+) or BPFTRACE_MAP_KEYS_MAX (older), both for an unknown version; an operator value of either wins', () => {
  const env = bpftraceEnv({}, { mapKeysMax: 65536 });
  assert.equal(env.BPFTRACE_MAX_MAP_KEYS, '65536');
  assert.equal(env.BPFTRACE_MAP_KEYS_MAX, '65536');
  const v23 = bpftraceEnv({ BPFTRACE_MAP_KEYS_MAX: '2048' }, { mapKeysMax: 65536, version: [0, 23, 2] });
  assert.deepEqual([v23.BPFTRACE_MAX_MAP_KEYS, v23.BPFTRACE_MAP_KEYS_MAX], ['2048', undefined], 'no "deprecated" warning');
  const v17 = bpftraceEnv({}, { mapKeysMax: 8192, version: [0, 17, 0] });
  assert.deepEqual([v17.BPFTRACE_MAX_MAP_KEYS, v17.BPFTRACE_MAP_KEYS_MAX], [undefined, '8192']);
  assert.equal(bpftraceEnv({ BPFTRACE_MAX_MAP_KEYS: '8192' }, { mapKeysMax: 65536 }).BPFTRACE_MAP_KEYS_MAX, '8192');
  assert.equal(bpftraceEnv({ BPFTRACE_MAP_KEYS_MAX: '1024' }, { mapKeysMax: 65536 }).BPFTRACE_MAX_MAP_KEYS, '1024');
});

test('no BTF for the sctp module (kernel 5.10): every probe that reads an sctp struct is unavailable, with that reason', async () => {
  const d = mkdtempSync(join(tmpdir(), 'sctpdiag-nobtf-'));
  const ksyms = 'ffffffffc0a00000 t sctp_assoc_control_transport\t[sctp]\nffffffffc0a10000 D __tracepoint_sctp_probe\t[sctp]\nffffffffc0a10001 D __tracepoint_sctp_probe_path\t[sctp]\n';
  const c = await detectCapabilities({ bpftrace: '/bin/true', capEff: 0x1ffffffffffn, sysRoot: d, kallsyms: ksyms, files, version: [0, 11, 3] });
  // sysRoot without tracefs and BTF: bpf is unavailable at all
  assert.match(c.unavailable ?? '', /BTF|kprobes/);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(d, 'kernel', 'tracing'), { recursive: true });
  const c2 = await detectCapabilities({ bpftrace: '/bin/true', capEff: 0x1ffffffffffn, sysRoot: d, kallsyms: ksyms, files, version: [0, 11, 3] });
  assert.equal(c2.unavailable, null);
  assert.deepEqual(c2.version, [0, 11, 3]);
  for (const p of c2.probes) {
    assert.equal(p.ok, false, p.name);
    assert.ok(p.reason === 'probe-missing' || p.missing.some((m) => /no BTF for the sctp module/.test(m)), `${p.name}: ${p.missing.join('; ')}`);
  }
  // the functions of path-state, heartbeat and rtx-timeout: kprobe variants, given the kernel headers
  const fns = ['sctp_assoc_control_transport', 'sctp_sf_sendbeat_8_3', 'sctp_sf_backbeat_8_3', 'sctp_sf_do_6_3_3_rtx', 'sctp_assoc_set_primary'];
  const ks = fns.map((f, i) => `ffffffffc0a0${i}000 t ${f}\t[sctp]`).join('\n') + '\n';
  const opts = { bpftrace: '/bin/true', capEff: 0x1ffffffffffn, sysRoot: d, kallsyms: ks, files, version: [0, 11, 3] as const, release: '5.10.0-32-amd64' };
  const bare = await detectCapabilities({ ...opts, headers: false });
  const by = (c: Capabilities, n: string) => c.probes.find((p) => p.name === n)!;
  for (const n of ['path-state', 'heartbeat', 'rtx-timeout']) {
    assert.equal(by(bare, n).ok, false);
    assert.equal(by(bare, n).reason, 'no-headers');
    assert.match(by(bare, n).missing.join(' '), /no BTF for the sctp module .* and no kernel headers for 5\.10\.0-32-amd64 \(apt-get install linux-headers-5\.10\.0-32-amd64\)/);
  }
  // a kfunc probe without a kprobe-args prototype has no variant
  assert.equal(by(bare, 'primary').reason, 'no-btf');
  assert.equal(bare.kprobes, false);
  const withHeaders = await detectCapabilities({ ...opts, headers: true });
  assert.equal(withHeaders.kprobes, true);
  assert.deepEqual(withHeaders.probes.filter((p) => p.ok).map((p) => p.name).sort(), ['heartbeat', 'path-state', 'rtx-timeout']);
  assert.equal(by(withHeaders, 'primary').reason, 'no-btf');
  assert.equal(by(withHeaders, 'peers').reason, 'probe-missing');
});

test('kprobe variant (no module BTF): kprobe/kretprobe with casts from the kprobe-args prototype, arguments saved per thread, line for line', () => {
  const ps = files.find((f) => f.name === 'path-state')!;
  const v = probesModule.kprobeVariant(ps.text)!;
  assert.equal(v.split('\n').length, ps.text.split('\n').length);
  assert.doesNotMatch(v, /^k(ret)?func:|args->/m);
  assert.match(v, /^kprobe:sctp_assoc_control_transport$/m);
  assert.match(v, /^kretprobe:sctp_assoc_control_transport$/m);
  assert.match(v, /\(\(struct sctp_association \*\)arg0\)->base\.net->ns\.inum/);
  assert.match(v, /^\{ .*@sctpdiag_kp_transport\[tid\] = arg1;.*@sctpdiag_kp_asoc\[tid\] = arg0;/m);
  assert.match(v, /\$t = \(\(struct sctp_transport \*\)@sctpdiag_kp_transport\[tid\]\);/);
  assert.match(v, /delete\(@sctpdiag_kp_asoc\[tid\]\);.* \}$/m);
  // a kfunc without a prototype: no variant
  assert.equal(probesModule.kprobeVariant('kfunc:sctp:f\n{\n  printf("%d", args->x);\n}\n'), null);
  // the program: the headers included first, then the variants in 0.11's dialect
  const p = layoutProgram(files.filter((f) => ['path-state', 'rtx-timeout'].includes(f.name)), [0, 11, 3], true);
  assert.equal(p.text.split('\n')[0], '#include <net/sctp/structs.h>');
  assert.equal(p.starts[0]!.line, 2);
});

test('0.11 (bullseye): printf formats over 63 bytes are split into chunks that the mapper joins back, line for line', () => {
  const d = probesModule.dialectFor([0, 11, 3]);
  for (const f of files) {
    const r = renderProbe(f.text, d);
    assert.equal(r.split('\n').length, f.text.split('\n').length, f.name);
    for (const m of r.matchAll(/printf\("([^"]*)"/g)) assert.ok(m[1]!.length <= 63, `${f.name}: ${m[1]}`);
    // the chunks' formats, joined, are the original format
    const orig = [...f.text.matchAll(/printf\("(SCTPDIAG [^"]*)"/g)].map((m) => m[1]!.replace(/\\n$/, ''));
    const chunks = [...r.matchAll(/printf\("SCTPDIAG\+ %u (\d) (\d) ([^"]*)\\n"/g)];
    let joined: string[] = [];
    const whole: string[] = [];
    for (const c of chunks) {
      joined.push(c[3]!);
      if (c[1] === c[2]) {
        whole.push(`SCTPDIAG ${joined.join(' ')}`);
        joined = [];
      }
    }
    const short = orig.filter((o) => o.length + 2 <= 62);
    assert.deepEqual([...whole, ...short].sort(), orig.sort(), f.name);
  }
  // the joiner: per thread, in order; an interleaved thread does not disturb it; out of order is dropped
  const j = new probesModule.ChunkJoiner();
  assert.equal(j.add('SCTPDIAG+ 7 1 2 path ts=1 asoc=3\n'), null);
  assert.equal(j.add('SCTPDIAG+ 8 1 2 path ts=2 asoc=4\n'), null);
  assert.equal(j.add('SCTPDIAG+ 7 2 2 cmd=1 err=0\n'), 'SCTPDIAG path ts=1 asoc=3 cmd=1 err=0\n');
  assert.equal(j.add('SCTPDIAG+ 9 2 2 cmd=1 err=0\n'), null);
  assert.equal(j.dropped, 1);
  assert.equal(j.add('SCTPDIAG path ts=5\n'), 'SCTPDIAG path ts=5\n');
  // through the mapper: one path.state event
  const m = new BpfEventMapper({ netns: null, hz: 250 });
  const line = (t: string) => m.map(parseBpftraceLine(JSON.stringify({ type: 'printf', data: t }))!);
  assert.deepEqual(line('SCTPDIAG+ 11 1 3 path ts=100 asoc=3 lport=6001 rport=5001\n'), []);
  assert.deepEqual(line('SCTPDIAG+ 11 2 3 cmd=1 err=0 from=2 to=0 fam=2 v4=33554698\n'), []);
  const [e] = line('SCTPDIAG+ 11 3 3 w=0,0,0,0 afam=2 av4=33554954 aw=0,0,0,0\n');
  assert.equal(e?.type, 'path.state');
  assert.equal(e?.path, '10.1.0.2');
  assert.equal(e?.to, 'INACTIVE');
  assert.equal(e?.activePath, '10.2.0.2');
});

test('one probe file bpftrace refuses is dropped and the rest start at once (not three failures, then procfs)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sctpdiag-dialect-'));
  const fake = join(tmp, 'bpftrace');
  // refuses any program holding primary.bt, with the line number of its probe; else attaches
  writeFileSync(
    fake,
    `#!/bin/bash
prog="$4"
n=$(printf '%s\\n' "$prog" | grep -n '^kfunc:sctp:sctp_assoc_set_primary' | cut -d: -f1)
if [[ -n "$n" ]]; then echo "stdin:$n:1-31: ERROR: Could not resolve symbol" >&2; exit 1; fi
echo 'WARNING: something the operator should see' >&2
echo '{"type": "attached_probes", "data": {"probes": 3}}'
exec sleep 30
`,
  );
  chmodSync(fake, 0o755);
  const series = await failoverSeries();
  const bus = new EventBus();
  const got: SctpEvent[] = [];
  bus.subscribe((e) => got.push(e));
  const caps: Capabilities = { bpftrace: fake, unavailable: null, probes: files.map((f) => ({ name: f.name, events: f.events, ok: true, missing: [] })) };
  const snapshot = async () => series[0]!;
  const runner = { backoffMs: 5000, maxFailuresBeforeAttach: 1, noPdeathsig: true };
  const p = startEventPipeline({ procRoot: '/proc', netns: null, intervalMs: 100, bus, read: snapshot, capabilities: caps, probeFiles: files, runner });
  const end = Date.now() + 5000;
  while (p.status().probesAttached === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const st = p.status();
  assert.equal(st.probesAttached, 3);
  assert.ok(!st.probes.includes('primary') && st.probes.includes('path-state'), st.probes.join(','));
  assert.match(st.unavailable.find((u) => u.name === 'primary')?.missing.join(' ') ?? '', /Could not resolve symbol/);
  assert.ok(st.procfsTypes.includes('path.primary'), 'procfs covers what the dropped file produced');
  assert.ok(!st.procfsTypes.includes('path.state'));
  while (!got.some((e) => /something the operator should see/.test(e.reason ?? '')) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const w = got.find((e) => e.type === 'source.changed' && e.severity === 'warn' && /bpftrace: WARNING: something/.test(e.reason ?? ''));
  assert.ok(w);
  assert.deepEqual([w.from, w.to], [null, null], 'a message, not a change of source');
  await p.stop();
});

test('per event type: what procfs covers and why (the reason a probe file could not run)', () => {
  const why = 'no BTF for the sctp module (/sys/kernel/btf/sctp; kernels before 5.11 have none)';
  const un = [{ name: 'path-state', missing: ['kfunc:sctp:sctp_assoc_control_transport', why] }, { name: 'primary', missing: [why] }];
  const { procfsWhy } = probesModule;
  assert.equal(procfsWhy(un, files, ['peers']), `procfs for path.state, path.primary (${why})`);
  const other = [...un, { name: 'asconf', missing: ['kfunc:sctp:sctp_process_asconf'] }];
  assert.equal(procfsWhy(other, files, ['peers']), `procfs for path.state, path.primary (${why}); procfs for asconf.received (kfunc:sctp:sctp_process_asconf not offered here)`);
  assert.equal(procfsWhy([], files, ['peers']), '');
});
