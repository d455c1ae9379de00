// Issue #13 item 6: the --log file on a full disk, removed under us, or left with half a line.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSink, RotatingLog } from '../../src/trace/sinks.js';
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
});

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
