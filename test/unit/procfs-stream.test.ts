/**
 * Page-by-page reading (procfs/sctpfile.ts), parsing fed in pieces
 * (LineFeed) and the sliced owner scan (owners.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readSctpFile } from '../../src/procfs/sctpfile.js';
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

test('owner scan: the sliced scan finds the same owners as the direct one, only of the inodes asked for', async () => {
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
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('readSnapshot: a capture missing one file is an incomplete capture (exit 2, naming it), not a kernel without SCTP', async () => {
  const root = tmp();
  try {
    mkdirSync(join(root, 'net', 'sctp'), { recursive: true });
    for (const f of ['eps', 'remaddr', 'snmp']) writeFileSync(join(root, 'net', 'sctp', f), '');
    await assert.rejects(readSnapshot({ procRoot: root, netns: null, hz: 250 }), (e: Error & { exitCode?: number }) => {
      assert.match(e.message, /net\/sctp\/assocs: missing from the capture/);
      assert.doesNotMatch(e.message, /not available/);
      assert.equal(e.exitCode, 2);
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

test('readSctpFile: a file larger than one read arrives whole, multi-byte characters intact, in either mode', async () => {
  const dir = tmp();
  try {
    const text = Array.from({ length: 30000 }, (_, i) => `row ${i} ${'ü'.repeat(i % 5)}`).join('\n');
    writeFileSync(join(dir, 'f'), text);
    for (const sync of [false, true]) {
      const lines: string[] = [];
      const r = await readSctpFile(join(dir, 'f'), { line: (_ln, t) => void lines.push(t.all().join(' ')), warn: () => {}, result: () => lines }, { sync, keepText: true });
      assert.equal(r.text, text, `sync=${sync}`);
      assert.equal(r.result.length, 30000);
      assert.equal(r.result[29999], `row 29999 ${'ü'.repeat(29999 % 5)}`.trim());
      assert.ok(r.kernelMs >= 0);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
