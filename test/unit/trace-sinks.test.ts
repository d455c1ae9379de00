// The rotating NDJSON log and the human line format.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSink, RotatingLog, formatEventLine } from '../../src/trace/sinks.js';
import { plain } from '../../src/render/style.js';
import { SctpdiagError } from '../../src/errors.js';
import type { SctpEvent } from '../../src/events/types.js';

const ev = (i: number): SctpEvent => ({
  schemaVersion: 1,
  time: '2026-01-01T00:00:00.000Z',
  type: 'path.state',
  source: 'bpf',
  severity: 'warn',
  netns: null,
  assoc: { id: i, localPort: 6001, peerPort: 5001 },
  path: '10.1.0.2',
  from: 'ACTIVE',
  to: 'PF',
  reason: 'PF (FAILED_THRESHOLD) "quoted"\n',
});

test('rotating log: size-bounded files, N kept, every line complete JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'events.ndjson');
  const log = new RotatingLog({ path: p, maxBytes: 4096, keep: 3 });
  for (let i = 0; i < 500; i++) log.write(ev(i));
  log.close();
  assert.ok(log.rotations > 3);
  assert.ok(existsSync(`${p}.1`) && existsSync(`${p}.2`) && existsSync(`${p}.3`));
  assert.ok(!existsSync(`${p}.4`));
  const ids: number[] = [];
  for (const f of [`${p}.3`, `${p}.2`, `${p}.1`, p]) {
    assert.ok(statSync(f).size <= 4096, f);
    const text = readFileSync(f, 'utf8');
    assert.ok(text.endsWith('\n'));
    for (const l of text.trimEnd().split('\n')) ids.push((JSON.parse(l) as SctpEvent).assoc!.id);
  }
  // the newest lines, contiguous and in order, up to 499
  assert.equal(ids[ids.length - 1], 499);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);
});

test('log appends to an existing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'e.ndjson');
  const a = new RotatingLog({ path: p, maxBytes: 1 << 20, keep: 1 });
  a.write(ev(1));
  a.close();
  const b = new RotatingLog({ path: p, maxBytes: 1 << 20, keep: 1 });
  b.write(ev(2));
  b.close();
  assert.equal(readFileSync(p, 'utf8').trim().split('\n').length, 2);
});

test('human line', () => {
  assert.equal(
    formatEventLine({ ...ev(3), activePath: '10.2.0.2', assoc: { id: 3, localPort: 6001, peerPort: 5001, owners: [{ pid: 42, comm: 'sctp_darn' }] } }, plain),
    '00:00:00.000  path.state         assoc 3 6001->5001  10.1.0.2  ACTIVE -> PF  active 10.2.0.2  (PF (FAILED_THRESHOLD) "quoted"\\x0a)  sctp_darn[42]  [bpf]',
  );
});

test('runTrace end to end on a capture: NDJSON out, log flushed, stops after --duration', async () => {
  const [{ runTrace }, { traceSettings }] = await Promise.all([import('../../src/trace/run.js'), import('../../src/commands/trace.js')]);
  const PACKAGE_ROOT = (await import('../../src/package-files.js')).packageRoot();
  const { PassThrough } = await import('node:stream');
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-rt-'));
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const s = traceSettings({ duration: '0.3', interval: '100', log: join(dir, 'ev.ndjson') });
  // a --duration that were ignored would never return: the test runner's timeout catches it
  await runTrace(s, { procRoot: join(PACKAGE_ROOT, 'test/fixtures/captures/two-path-a'), netns: null, hz: undefined, json: true, style: plain, out });
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as SctpEvent);
  assert.equal(lines[0]!.type, 'source.changed');
  assert.match(lines[0]!.reason ?? '', /capture/);
  assert.equal(readFileSync(join(dir, 'ev.ndjson'), 'utf8'), text);
});

test('log: a burst of lines goes out in whole lines, rotated between lines, never past the size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'burst.ndjson');
  const log = new RotatingLog({ path: p, maxBytes: 4096, keep: 50 });
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(ev(i)));
  log.writeLines(lines.slice(0, 1));
  log.writeLines(lines.slice(1));
  log.close();
  assert.equal(log.lines, 300);
  const ids: number[] = [];
  for (let i = log.rotations; i >= 0; i--) {
    const f = i ? `${p}.${i}` : p;
    assert.ok(statSync(f).size <= 4096, f);
    const text = readFileSync(f, 'utf8');
    assert.ok(text.endsWith('\n'));
    for (const l of text.trimEnd().split('\n')) ids.push((JSON.parse(l) as SctpEvent).assoc!.id);
  }
  assert.deepEqual(ids, lines.map((_, i) => i));
});

test('event sink: the events of one turn in one write (stdout and log), in order; flush() writes what is left', async () => {
  const writes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-sink-'));
  const log = new RotatingLog({ path: join(dir, 'e.ndjson'), maxBytes: 1 << 20, keep: 1 });
  const sink = new EventSink({ write: (t) => writes.push(t), json: true, style: plain, rotating: log });
  for (let i = 0; i < 50; i++) sink.add(ev(i));
  assert.equal(writes.length, 0, 'nothing written inside the turn');
  await Promise.resolve();
  assert.equal(writes.length, 1);
  const lines = writes[0]!.split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as SctpEvent).assoc!.id), Array.from({ length: 50 }, (_, i) => i));
  sink.add(ev(50));
  sink.flush();
  assert.equal(writes.length, 2);
  await Promise.resolve();
  assert.equal(writes.length, 2, 'the queued flush finds nothing left');
  log.close();
  assert.equal(readFileSync(join(dir, 'e.ndjson'), 'utf8'), writes.join(''));
  const human: string[] = [];
  const h = new EventSink({ write: (t) => human.push(t), json: false, style: plain });
  h.add(ev(1));
  h.add(ev(2));
  h.flush();
  assert.equal(human[0], `${formatEventLine(ev(1), plain)}\n${formatEventLine(ev(2), plain)}\n`);
});

// Issue #13 item 6: the --log file on a full disk, removed under us, or left with half a line.
const completeLines = (text: string) => {
  assert.ok(text === '' || text.endsWith('\n'), 'ends on a complete line');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SctpEvent);
};

test('disk full mid-write: no half line in the file, one log.error on the output, the trace goes on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'events.ndjson');
  let budget = 1000; // bytes the "disk" still takes
  const log = new RotatingLog({
    path: p,
    maxBytes: 1 << 20,
    keep: 2,
    writeSync(fd, buf, off, len) {
      if (budget <= 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      const n = Math.min(len, budget);
      budget -= n;
      return writeSync(fd, buf, off, n);
    },
  });
  const out: string[] = [];
  const sink = new EventSink({ write: (t) => out.push(t), json: true, style: plain, rotating: log });
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 3; i++) sink.add(ev(burst * 3 + i));
    sink.flush();
  }
  log.close();
  const lines = out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SctpEvent);
  assert.equal(lines.filter((e) => e.type === 'path.state').length, 60, 'every event still reached the output');
  const errs = lines.filter((e) => e.type === 'log.error');
  assert.equal(errs.length, 1, 'reported once');
  assert.match(errs[0]!.reason!, /events\.ndjson.*ENOSPC/);
  assert.equal(errs[0]!.source, 'sctpdiag');
  const logged = completeLines(readFileSync(p, 'utf8'));
  assert.ok(logged.length > 0 && logged.length < 60);
  assert.ok(log.failed);
});

test('the log file removed under a running trace: a new file is started, rotation does not crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'events.ndjson');
  const log = new RotatingLog({ path: p, maxBytes: 2048, keep: 2 });
  for (let i = 0; i < 5; i++) log.write(ev(i));
  unlinkSync(p);
  for (let i = 5; i < 10; i++) log.write(ev(i));
  assert.deepEqual(completeLines(readFileSync(p, 'utf8')).map((e) => e.assoc!.id), [5, 6, 7, 8, 9]);
  // removed again just before a rotation is due
  unlinkSync(p);
  for (let i = 10; i < 200; i++) log.write(ev(i));
  log.close();
  assert.equal(log.failed, null);
  assert.ok(log.rotations > 0 && existsSync(`${p}.1`));
  const all = [`${p}.2`, `${p}.1`, p].filter(existsSync).flatMap((f) => completeLines(readFileSync(f, 'utf8')));
  assert.equal(all[all.length - 1]!.assoc!.id, 199);
});

test('a file left with half a line by an earlier run: the next line starts on a fresh line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const p = join(dir, 'events.ndjson');
  writeFileSync(p, JSON.stringify(ev(1)) + '\n' + '{"schemaVersion":1,"time":"2026-01-01T00:0');
  const log = new RotatingLog({ path: p, maxBytes: 1 << 20, keep: 2 });
  log.write(ev(2));
  log.close();
  const lines = readFileSync(p, 'utf8').split('\n');
  assert.deepEqual(JSON.parse(lines[2]!), ev(2));
  assert.equal(lines[3], '');
});

test('--log through a symlink or onto a FIFO is refused with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-log-'));
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'x\n');
  symlinkSync(victim, join(dir, 'link'));
  assert.throws(() => new RotatingLog({ path: join(dir, 'link'), maxBytes: 4096, keep: 1 }), (e: unknown) => e instanceof SctpdiagError && /symbolic link/.test(e.message));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  assert.throws(() => new RotatingLog({ path: join(dir, 'fifo'), maxBytes: 4096, keep: 1 }), (e: unknown) => e instanceof SctpdiagError && /not a regular file/.test(e.message));
  assert.equal(readFileSync(victim, 'utf8'), 'x\n');
});
