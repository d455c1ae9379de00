// `sctpdiag trace` option validation: hostile input is refused with a usage error.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceSettings } from '../../src/commands/trace.js';
import { parseEventList } from '../../src/commands/options.js';
import { SctpdiagError, EXIT } from '../../src/errors.js';
import { main } from '../../src/program.js';

const usage = (f: () => unknown, re?: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && (!re || re.test(e.message)));

test('defaults', () => {
  const s = traceSettings({});
  assert.equal(s.intervalMs, 1000);
  assert.equal(s.durationMs, null);
  assert.equal(s.noBpf, false);
  assert.equal(s.log, null);
  assert.ok(s.filter.types.has('path.state'));
  assert.ok(!s.filter.types.has('path.heartbeat'));
});

test('valid values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-v-'));
  const s = traceSettings({
    assoc: '3',
    port: '5001',
    peer: 'FD00:3:0::2',
    events: 'path.*,assoc.up',
    duration: '2.5',
    interval: '250',
    bpf: false,
    log: join(dir, 'ev.ndjson'),
    logMaxBytes: '4096',
    logKeep: '2',
  });
  assert.equal(s.filter.assocId, 3);
  assert.equal(s.filter.port, 5001);
  assert.equal(s.filter.peer, 'fd00:3::2');
  assert.deepEqual([...s.filter.types].sort(), ['assoc.up', 'path.heartbeat', 'path.metrics', 'path.primary', 'path.rtx_timeout', 'path.state']);
  assert.equal(s.durationMs, 2500);
  assert.equal(s.intervalMs, 250);
  assert.equal(s.noBpf, true);
  assert.deepEqual(s.log, { path: join(dir, 'ev.ndjson'), maxBytes: 4096, keep: 2 });
  assert.equal(parseEventList('all').size, 19);
  assert.ok(parseEventList('chunk.*').has('chunk.abort') && parseEventList('chunk.*').has('chunk.error'));
});

test('hostile and out-of-range input is refused', () => {
  usage(() => traceSettings({ assoc: '3; kill 1' }), /--assoc/);
  usage(() => traceSettings({ assoc: '4294967296' }), /--assoc/);
  usage(() => traceSettings({ assoc: '$1' }), /--assoc/);
  usage(() => traceSettings({ port: '0' }), /--port/);
  usage(() => traceSettings({ port: '65536' }), /--port/);
  usage(() => traceSettings({ port: '80 || 1' }), /--port/);
  usage(() => traceSettings({ peer: '10.0.0.1/*' }), /--peer/);
  usage(() => traceSettings({ peer: '`id`' }), /--peer/);
  usage(() => traceSettings({ events: 'path.state,kprobe:do_exit { system("id") }' }), /--events/);
  usage(() => traceSettings({ events: '' }), /--events/);
  usage(() => traceSettings({ events: 'x.*' }), /--events/);
  usage(() => traceSettings({ duration: '0' }), /--duration/);
  usage(() => traceSettings({ duration: '1e9' }), /--duration/);
  usage(() => traceSettings({ duration: 'Infinity' }), /--duration/);
  usage(() => traceSettings({ interval: '99' }), /--interval/);
  usage(() => traceSettings({ interval: '100.5' }), /--interval/);
  usage(() => traceSettings({ interval: '0x10' }), /--interval/);
  usage(() => traceSettings({ metricsInterval: '3601' }), /--metrics-interval/);
  usage(() => traceSettings({ log: '/nonexistent-dir/x.log' }), /--log/);
  usage(() => traceSettings({ log: tmpdir() }), /not a regular file/);
  usage(() => traceSettings({ log: 'a\nb' }), /--log/);
  usage(() => traceSettings({ logKeep: '3' }), /need --log/);
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-v-'));
  usage(() => traceSettings({ log: join(dir, 'x'), logMaxBytes: '10' }), /--log-max-bytes/);
  usage(() => traceSettings({ log: join(dir, 'x'), logKeep: '101' }), /--log-keep/);
});

test('through the CLI: exit code 2 and one line on stderr', async () => {
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['trace', '--port', '1;reboot']), EXIT.USAGE);
  } finally {
    process.stderr.write = orig;
  }
  assert.match(writes.join(''), /--port: "1;reboot" is not a port/);
});
