/**
 * The two-range read of a large assocs (procfs/sctpfile.ts): over real seq_file
 * text from Linux 6.1, cut anywhere and read in pages of any size, the ranges
 * add up to the file, no record lost or repeated at the boundary.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readRange, readSctpFile, SPLIT_MIN_BYTES, type Range } from '../../src/procfs/sctpfile.js';
import { assocsParser, parseAssocs, parseSnmp } from '../../src/procfs/parse.js';
import { guessBytes } from '../../src/procfs/read.js';
import { buildSnapshot } from '../../src/model/snapshot.js';
import { real } from '../helpers.js';

const ASSOCS = real('ipv6-asconf-many/many_a_assocs.txt');
const SNMP = real('ipv6-asconf-many/many_a_snmp.txt');
const REMADDR = real('ipv6-asconf-many/many_a_remaddr.txt');

/** A seq_file stand-in: each read returns the bytes at pos, at most the next page size (whole pages, cut records, 1 byte…). */
function pagedReader(text: string, pages: number[]): (buf: Buffer, pos: number) => number {
  const bytes = Buffer.from(text);
  let i = 0;
  return (buf, pos) => {
    const want = Math.min(buf.length, pages.length ? pages[i++ % pages.length]! : 4096);
    return pos >= bytes.length ? 0 : bytes.copy(buf, 0, pos, Math.min(bytes.length, pos + want));
  };
}

async function range(text: string, from: number, to: number, pages: number[]): Promise<string> {
  const r: Range = { from, to, pos: 0, kernelMs: 0 };
  const out: string[] = [];
  await readRange(r, pagedReader(text, pages), (s) => void out.push(s), { path: 'assocs', max: 1 << 26, total: { bytes: 0 } });
  return out.join('');
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

for (const [name, TEXT] of [['assocs', ASSOCS], ['remaddr', REMADDR]] as const) {
  test(`two ranges of real ${name} text, cut at any byte, read in pages of any size, add up to the file exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: TEXT.length + 64 }),
        fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 8 }),
        async (cut, headPages, tailPages) => {
          const head = await range(TEXT, 0, cut, headPages);
          const tail = await range(TEXT, cut, Infinity, tailPages);
          assert.equal(head + tail, TEXT);
          // the head ends at a record's end: no record is cut in two
          assert.ok(head === TEXT || head.endsWith('\n'));
        },
      ),
      { numRuns: 300 },
    );
    // every boundary position in the header, the first rows and the last ones (both sides of each newline)
    const cuts = [...Array(1200).keys()].map((i) => i + 1).concat([...Array(700).keys()].map((i) => TEXT.length + 1 - i));
    for (const cut of cuts) {
      const head = await range(TEXT, 0, cut, [4096]);
      const tail = await range(TEXT, cut, Infinity, [4096]);
      if (head + tail !== TEXT) assert.fail(`cut at ${cut}: ${lines(head).length} + ${lines(tail).length} lines`);
    }
  });
}

test('the table changes between the walks: a record added before the cut comes twice and is listed once; one removed costs the rows printed within its length, as a kernel page restart costs one', async () => {
  const rows = lines(ASSOCS);
  const header = rows[0]!;
  const body = rows.slice(1);
  const text = (rs: string[]) => [header, ...rs].join('\n') + '\n';
  const before = text(body);
  const shortest = Math.min(...body.map((r) => r.length + 1));
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: before.length }), fc.integer({ min: 0, max: body.length - 1 }), async (cut, at) => {
      const head = lines(await range(before, 0, cut, [4096]));
      const extra = body[(at + 7) % body.length]!.replace(/^\S+/, 'ffffffff');
      const tailAdded = lines(await range(text([...body.slice(0, at), extra, ...body.slice(at)]), cut, Infinity, [4096]));
      const seen = [...head, ...tailAdded];
      for (const r of body) assert.ok(seen.includes(r), 'a record of the first walk was lost');
      // the tail's text moved on by the added row's length: the rows within it come twice
      assert.ok(seen.length - 1 - body.length <= 1 + Math.ceil(extra.length / shortest), 'more rows repeated than the added one spans');
      const removed = body.filter((_, i) => i !== at);
      const tailRemoved = lines(await range(text(removed), cut, Infinity, [4096]));
      const missing = body.filter((r) => !head.includes(r) && !tailRemoved.includes(r) && r !== body[at]);
      // the tail's text moved back by the removed row's length: the rows within it are missed (one, for rows of one length)
      assert.ok(missing.length <= Math.ceil(body[at]!.length / shortest), `${missing.length} records lost`);
    }),
    { numRuns: 200 },
  );
  // the repeat is listed once, with a warning naming the line
  const dup = text([...body.slice(0, 100), body[99]!, ...body.slice(100)]);
  const snap = buildSnapshot({
    takenAt: new Date(0),
    netns: null,
    kernelRelease: null,
    hz: { value: 250, source: 'option', detail: 'test' },
    assocs: parseAssocs(dup),
    eps: { rows: [], warnings: [], file: 'eps' },
    remaddr: { rows: [], warnings: [], file: 'remaddr' },
    snmp: { counters: {}, warnings: [] },
  });
  assert.equal(snap.associations.length, body.length);
  assert.ok(snap.warnings.some((w) => /printed again/.test(w.message)));
});

test("guessBytes: a real first page and the row count (snmp's SctpCurrEstab; assocs's paths for remaddr) guess the real size within 5%", () => {
  const established = parseSnmp(SNMP).counters['SctpCurrEstab'];
  const guess = guessBytes(ASSOCS.slice(0, 4096), established)!;
  assert.ok(Math.abs(guess - ASSOCS.length) / ASSOCS.length < 0.05, `assocs: ${guess} vs ${ASSOCS.length}`);
  const paths = parseAssocs(ASSOCS).rows.reduce((n, r) => n + r.raddrs.length, 0);
  const remaddrGuess = guessBytes(REMADDR.slice(0, 4096), paths)!;
  assert.ok(Math.abs(remaddrGuess - REMADDR.length) / REMADDR.length < 0.05, `remaddr: ${remaddrGuess} vs ${REMADDR.length}`);
  assert.equal(guessBytes(ASSOCS.slice(0, 4096), undefined), null);
  assert.equal(guessBytes(ASSOCS.slice(0, 100), established), null, 'no whole row in the page');
});

test('readSctpFile: a large assocs read in two ranges parses as one read does, whatever the size guess', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-ranges-'));
  try {
    // real rows repeated with new ids until well past the split threshold
    const body = lines(ASSOCS).slice(1);
    const out = [lines(ASSOCS)[0]!];
    for (let i = 0; out.join('\n').length < 2 * SPLIT_MIN_BYTES; i++)
      out.push(body[i % body.length]!.replace(/^(\S+\s+\S+\s+\d\s+\d\s+\d\s+\d+\s+)\d+/, (_m, p: string) => `${p}${1000 + i}`));
    const text = out.join('\n') + '\n';
    const path = join(dir, 'assocs');
    writeFileSync(path, text);
    const whole = parseAssocs(text, path);
    for (const guess of [text.length, SPLIT_MIN_BYTES, text.length * 3, 1000, null]) {
      for (const sync of [true, false]) {
        const r = await readSctpFile(path, assocsParser(path), { sync, keepText: true, guessSize: () => guess });
        assert.equal(r.ranges, guess !== null && guess >= SPLIT_MIN_BYTES ? 2 : 1, `guess ${guess}`);
        assert.equal(r.text, text);
        assert.deepEqual(r.result, whole);
      }
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a real kernel seq_file (this host's /proc/kallsyms: size 0, megabytes) read as two ranges, cut anywhere, is exactly one read's text", async () => {
  const path = '/proc/kallsyms';
  const whole = readFileSync(path, 'utf8');
  assert.ok(whole.length > SPLIT_MIN_BYTES, `${whole.length} bytes`);
  const collect = () => {
    const rows: string[] = [];
    return { line: (_ln: number, t: { all(): string[] }) => void rows.push(t.all().join(' ')), warn: () => {}, result: () => rows };
  };
  for (const share of [0.2, Math.SQRT1_2, 0.999]) {
    const r = await readSctpFile(path, collect(), { sync: true, keepText: true, guessSize: () => Math.round(whole.length * share) });
    assert.equal(r.ranges, 2);
    assert.ok(r.text === whole, `cut at ${share}: ${r.text!.length} of ${whole.length} bytes`);
  }
});
