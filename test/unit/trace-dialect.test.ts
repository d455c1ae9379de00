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
  for (const v of [[0, 11, 3], [0, 17, 0], null] as const) {
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
    assert.ok(p.missing.some((m) => /no BTF for the sctp module/.test(m)), `${p.name}: ${p.missing.join('; ')}`);
  }
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
