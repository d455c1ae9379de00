/**
 * Page-by-page reading (procfs/chunks.ts), parsing fed in pieces
 * (LineFeed), the early read of `status` (prefetch.ts) and the sliced owner
 * scan (owners.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ChunkReader } from '../../src/procfs/chunks.js';
import {
  assocsParser,
  epsParser,
  LineFeed,
  Tokens,
  parseAssocs,
  parseEps,
  parseRemaddr,
  parseSnmp,
  remaddrParser,
  snmpParser,
  type LineParser,
} from '../../src/procfs/parse.js';
import { wantsPrefetch } from '../../src/procfs/prefetch.js';
import { findSocketOwnersSliced, findSocketOwnersSync } from '../../src/procfs/owners.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { real } from '../helpers.js';

function fedInPieces<R>(parser: LineParser<R>, text: string, cuts: number[]): R {
  const feed = new LineFeed(parser.line);
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    feed.push(text.slice(at, c));
    at = c;
  }
  feed.push(text.slice(at));
  feed.end();
  return parser.result();
}

const files = [
  ['assocs', real('two-path-failover/a_assocs.txt'), assocsParser, parseAssocs],
  ['eps', real('two-path-failover/a_eps.txt'), epsParser, parseEps],
  ['remaddr', real('two-path-failover/a_remaddr.txt'), remaddrParser, parseRemaddr],
  ['snmp', real('two-path-failover/a_snmp.txt'), snmpParser, parseSnmp],
] as const;

for (const [name, text, makeParser, parseWhole] of files) {
  test(`${name}: cut anywhere (even inside a line or a CRLF-less tail), the pieces parse as the whole text does`, () => {
    // a malformed line and a blank line in the middle keep warnings and line numbers in the comparison
    const lines = text.split('\n');
    lines.splice(2, 0, '', 'garbage that is not a row');
    const t = lines.join('\n');
    const whole = (parseWhole as (s: string) => unknown)(t);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: t.length }), { maxLength: 40 }), (cuts) => {
        assert.deepEqual(fedInPieces((makeParser as () => LineParser<unknown>)(), t, cuts), whole);
      }),
      { numRuns: 60 },
    );
  });
}

test('LineFeed: a last line without newline is not lost, line numbers count blank lines', () => {
  const got: [number, string[]][] = [];
  const feed = new LineFeed((ln, tokens) => got.push([ln, tokens.all()]));
  feed.push('a b\n\n  c ');
  feed.push(' d\ne');
  feed.end();
  assert.deepEqual(got, [
    [1, ['a', 'b']],
    [3, ['c', 'd']],
    [4, ['e']],
  ]);
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sctpdiag-stream-'));
}

test('ChunkReader: a file larger than one read arrives whole and in order, also when attached late', async () => {
  const dir = tmp();
  try {
    const text = Array.from({ length: 20000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`).join('\n');
    writeFileSync(join(dir, 'f'), text);
    const early = new ChunkReader(join(dir, 'f'));
    await early.done; // everything read before anyone listened
    const parts: string[] = [];
    await early.attach((t) => parts.push(t));
    assert.ok(parts.length > 1, 'more than one piece');
    assert.equal(parts.join(''), text, 'multi-byte characters cut between reads survive');
    const live: string[] = [];
    await new ChunkReader(join(dir, 'f')).attach((t) => live.push(t));
    assert.equal(live.join(''), text);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('ChunkReader: a missing file rejects with its errno; attaching twice is refused', async () => {
  const r = new ChunkReader('/nonexistent/sctpdiag/assocs');
  await assert.rejects(r.attach(() => {}), { code: 'ENOENT' });
  assert.throws(() => r.attach(() => {}), /already attached/);
});

test('ChunkReader: cancel stops reading and drops what was kept', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'f'), 'x'.repeat(1 << 20));
    const r = new ChunkReader(join(dir, 'f'));
    r.cancel();
    await r.done;
    const parts: string[] = [];
    await r.attach((t) => parts.push(t));
    assert.ok(parts.join('').length < 1 << 20, 'not the whole file');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('prefetch: only a plain `status` of this host reads early', () => {
  for (const argv of [['status'], ['-j', 'status', '--verbose'], ['--json', '--hz', '250', 'status', '-a', '7'], ['--hz=100', 'status', '--watch', '2']])
    assert.equal(wantsPrefetch(argv), true, argv.join(' '));
  for (const argv of [
    [],
    ['top'],
    ['trace'],
    ['status', '--help'],
    ['help', 'status'],
    ['--netns', 'a', 'status'],
    ['-n', 'a', 'status'],
    ['status', '--netns-pid=4'],
    ['--proc-root', 'dir', 'status'],
    ['status', '--all-netns'],
    ['--hz', 'status'], // "status" is --hz's value here
    ['-x', 'status'],
  ])
    assert.equal(wantsPrefetch(argv), false, argv.join(' '));
});

test('owner scan: the sliced scan finds the same owners as the direct one, or every socket’s', async () => {
  const root = tmp();
  try {
    const proc = (pid: number, comm: string, links: string[]) => {
      mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
      writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
      links.forEach((l, i) => symlinkSync(l, join(root, String(pid), 'fd', String(i))));
    };
    // more descriptors than one slice, a socket shared by two processes, non-socket links
    proc(10, 'diameter', Array.from({ length: 300 }, (_, i) => `socket:[${1000 + i}]`));
    proc(20, 'worker', ['socket:[1005]', '/dev/null', 'pipe:[77]', 'socket:[5]']);
    proc(30, 'other', ['socket:[9999]']);
    mkdirSync(join(root, 'net'));
    const want = new Set([1000, 1005, 1299, 5, 424242]);
    const picked = await findSocketOwnersSliced(root, want);
    assert.deepEqual(picked, findSocketOwnersSync(root, want));
    assert.deepEqual(picked.get(1005), [
      { pid: 10, comm: 'diameter' },
      { pid: 20, comm: 'worker' },
    ]);
    assert.deepEqual(picked.get(5), [{ pid: 20, comm: 'worker' }]);
    assert.equal(picked.has(424242), false);
    assert.equal(picked.has(9999), false, 'only what was asked for');
    // 'all' (the scan readSnapshot starts before it knows the inodes): every socket, same owners
    const every = await findSocketOwnersSliced(root, 'all');
    assert.equal(every.size, 300 + 1 + 1);
    assert.deepEqual(every.get(9999), [{ pid: 30, comm: 'other' }]);
    for (const [inode, owners] of picked) assert.deepEqual(every.get(inode), owners);
    // stopped (a file read failed beside it): it ends at the next slice with what it found
    const stop = new AbortController();
    stop.abort();
    assert.ok((await findSocketOwnersSliced(root, 'all', stop.signal)).size < every.size);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('readSnapshot: a file that cannot be read fails with the documented exit code, naming it', async () => {
  const root = tmp();
  try {
    mkdirSync(join(root, 'net', 'sctp'), { recursive: true });
    for (const f of ['eps', 'remaddr', 'snmp']) writeFileSync(join(root, 'net', 'sctp', f), '');
    await assert.rejects(readSnapshot({ procRoot: root, netns: null, hz: 250 }), (e: Error & { exitCode?: number }) => {
      assert.match(e.message, /net\/sctp\/assocs/);
      assert.equal(e.exitCode, 3);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('Tokens: offsets into the text, numbers without strings, the same limits as before', () => {
  const t = new Tokens().reset('xx  12\t007 9007199254740991 9007199254740992 12345678901234567890 1a <-> *10.0.0.1  yy', 2, 82);
  assert.deepEqual(t.all(), ['12', '007', '9007199254740991', '9007199254740992', '12345678901234567890', '1a', '<->', '*10.0.0.1']);
  assert.equal(t.num(0), 12);
  assert.equal(t.num(1), 7);
  assert.equal(t.num(2), Number.MAX_SAFE_INTEGER);
  assert.equal(t.num(3), null, 'not a safe integer');
  assert.equal(t.num(4), null);
  assert.equal(t.num(5), null, 'not all digits');
  assert.equal(t.num(99), null);
  assert.equal(t.indexOf('<->'), 6);
  assert.equal(t.is(6, '<-'), false);
  // a line with more tokens than the first buffer holds
  const many = Array.from({ length: 300 }, (_, i) => String(i)).join(' ');
  const m = new Tokens().reset(many, 0, many.length);
  assert.equal(m.count, 300);
  assert.equal(m.num(299), 299);
});

test('ChunkReader sync mode: switches to read(2) here after the read in flight, whole and in order, early or late', async () => {
  const dir = tmp();
  try {
    const text = Array.from({ length: 30000 }, (_, i) => `row ${i} ${'ü'.repeat(i % 5)}`).join('\n');
    writeFileSync(join(dir, 'f'), text);
    for (const late of [false, true]) {
      const r = new ChunkReader(join(dir, 'f'));
      if (late) await new Promise((res) => setTimeout(res, 20));
      const parts: string[] = [];
      await r.attach((t) => parts.push(t), { sync: true });
      assert.equal(parts.join(''), text, `late=${late}`);
      assert.ok(parts.length > 2);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
