/**
 * Reading one procfs file as byte ranges side by side (procfs/chunks.ts
 * ChunkReader ranges, SplitReader, splitPoints) and the size guess that
 * decides the ranges (parse.ts estimateAssocsBytes).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ChunkReader, equalShares, SplitReader, splitPoints, type PieceSource } from '../../src/procfs/chunks.js';
import { estimateAssocsBytes } from '../../src/procfs/parse.js';
import { nextReadMs } from '../../src/procfs/costly.js';
import { capture } from '../helpers.js';

async function all(r: PieceSource, sync = false): Promise<string> {
  const parts: string[] = [];
  await r.attach((t) => parts.push(t), { sync });
  return parts.join('');
}

function withFile<T>(text: string, f: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-split-'));
  writeFileSync(join(dir, 'f'), text);
  return f(join(dir, 'f')).finally(() => rmSync(dir, { recursive: true }));
}

test('splitPoints: from 0 to the end, rising, each range the same x² cost', () => {
  assert.deepEqual(splitPoints(1000, [1]), [0, Infinity]);
  assert.deepEqual(equalShares(0), [1]);
  for (const parts of [2, 3, 4, 7]) {
    const total = 2_075_162;
    const cuts = splitPoints(total, equalShares(parts));
    assert.equal(cuts.length, parts + 1);
    assert.equal(cuts[0], 0);
    assert.equal(cuts[parts], Infinity);
    const ends = [...cuts.slice(0, parts), total];
    for (let i = 1; i < ends.length; i++) {
      assert.ok(ends[i]! > ends[i - 1]!, `rising at ${i}`);
      const cost = (ends[i]! ** 2 - ends[i - 1]! ** 2) / total ** 2;
      assert.ok(Math.abs(cost - 1 / parts) < 1e-5, `range ${i} of ${parts} costs ${cost}`);
    }
  }
  // two ranges on 2 CPUs: the first holds ~71% of the bytes
  assert.equal(splitPoints(1_000_000, equalShares(2))[1], 707_107);
  // unequal: the first range a 40% share of the cost
  assert.deepEqual(splitPoints(1_000_000, [0.4, 0.6]), [0, 632_456, Infinity]);
});

test('ChunkReader ranges: the lines starting in each range add up to the file, wherever the cuts fall', async () => {
  const lines = fc.array(
    fc.tuple(fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, ' ')), fc.nat(40_000), fc.constantFrom('', 'é', '€')),
    { maxLength: 12 },
  );
  await fc.assert(
    fc.asyncProperty(lines, fc.boolean(), fc.array(fc.double({ min: 0, max: 1.05, noNaN: true }), { maxLength: 4 }), async (ls, trailing, fractions) => {
      const text = ls.map(([s, n, m]) => s + 'x'.repeat(n) + m).join('\n') + (trailing && ls.length ? '\n' : '');
      const bytes = Buffer.byteLength(text);
      const cuts = [0, ...fractions.map((f) => Math.round(f * bytes)).sort((a, b) => a - b), Infinity];
      await withFile(text, async (path) => {
        const got: string[] = [];
        for (let i = 0; i + 1 < cuts.length; i++) got.push(await all(new ChunkReader(path, { from: cuts[i]!, to: cuts[i + 1]! })));
        assert.equal(got.join(''), text, `cuts ${cuts.join(',')}`);
        for (const g of got.slice(0, -1)) assert.ok(g === '' || g.endsWith('\n') || g === text.slice(-g.length), 'a range ends at a line end');
      });
    }),
    { numRuns: 60 },
  );
});

test('ChunkReader ranges: a cut at a line start, on a newline, and past the end', async () => {
  await withFile('aa\nbb\ncc\n', async (path) => {
    const range = (from: number, to?: number) => all(new ChunkReader(path, to === undefined ? { from } : { from, to }));
    assert.equal(await range(0, 3), 'aa\n', 'to at a line start: that line is the next range’s');
    assert.equal(await range(3), 'bb\ncc\n', 'from at a line start: the line is ours');
    assert.equal(await range(2), 'bb\ncc\n', 'from on the newline ending the line before');
    assert.equal(await range(4), 'cc\n', 'from inside a line: the rest of it is the range before’s');
    assert.equal(await range(0, 4), 'aa\nbb\n', 'to inside a line: read to its end');
    assert.equal(await range(4, 5), '', 'no line starts in [4, 5)');
    assert.equal(await range(9), '');
    assert.equal(await range(50), '');
  });
});

// Found by the property test above (1 run in ~40): a line that starts before the end
// and goes on past both the end and a 64 KiB read was cut at the read's edge.
test('ChunkReader ranges: a line crossing the end and a read boundary is whole in its range', async () => {
  const long = 'y'.repeat(70_000);
  for (const tail of ['', 'z\n']) {
    const text = 'a\n' + 'x'.repeat(65_533) + '\n' + tail; // the newline is byte 65,535: the first read ends on it
    await withFile(text, async (path) => {
      const first = await all(new ChunkReader(path, { from: 0, to: 100 }));
      assert.ok(first === text.slice(0, 65_536), `newline ending the first read: ${first.length} chars`);
      assert.equal(await all(new ChunkReader(path, { from: 100 })), tail);
    });
  }
  for (const sync of [false, true]) {
    const text = 'a\n' + long + '\n' + 'b\n';
    await withFile(text, async (path) => {
      const first = await all(new ChunkReader(path, { from: 0, to: 3 }), sync);
      assert.ok(first === 'a\n' + long + '\n', `sync=${sync}: the long line, which starts before the end, to its newline: ${first.length} chars`);
      assert.equal(await all(new ChunkReader(path, { from: 3 }), sync), 'b\n');
      assert.equal(await all(new ChunkReader(path, { from: 0, to: 2 }), sync), 'a\n', 'a line starting at the end is the next range’s');
    });
  }
});

test('ChunkReader.limit: ends an open range while it is ahead, refuses once looked past', async () => {
  const text = Array.from({ length: 30_000 }, (_, i) => `row ${i}`).join('\n') + '\n';
  await withFile(text, async (path) => {
    const r = new ChunkReader(path);
    assert.equal(r.limit(100_000), true);
    const got = await all(r);
    assert.equal(got, text.slice(0, text.indexOf('\n', 99_999) + 1));
    assert.equal(r.limit(200_000), false, 'done');
    const s = new ChunkReader(path, { to: 10 });
    assert.equal(s.limit(5), false, 'has an end already');
    const late = new ChunkReader(path);
    await late.done;
    assert.equal(late.limit(70_000), false, 'already read past it');
    assert.equal(await all(late), text);
  });
});

test('SplitReader: a regular file (a capture) is read in one range, without guessing its size', async () => {
  const text = Array.from({ length: 50_000 }, (_, i) => `row ${i}`).join('\n');
  await withFile(text, async (path) => {
    let guessed = 0;
    const r = new SplitReader(path, { shares: equalShares(3), minBytes: 0, estimate: async () => (guessed++, text.length) });
    assert.equal(await all(r), text);
    assert.equal(r.rangeCount, 1);
    assert.equal(guessed, 0);
  });
});

// /proc/crypto: a seq_file (size 0, made as it is read) of a few pages on any Linux, and steady
const SEQ = '/proc/crypto';
const seqText = existsSync(SEQ) ? readFileSync(SEQ, 'utf8') : '';

test('SplitReader on a seq_file: ranges side by side, the text whole and in order', { skip: seqText.length < 2 * 4096 ? `${SEQ} missing or small` : false }, async () => {
  for (const [parts, sync, late] of [[2, false, false], [3, true, false], [3, false, true]] as const) {
    let first = '';
    const r = new SplitReader(SEQ, { shares: equalShares(parts), minBytes: 0, estimate: async (t) => ((first = t), seqText.length) });
    if (late) await r.done; // everything read before anyone listened
    assert.equal(await all(r, sync), seqText, `parts=${parts} sync=${sync} late=${late}`);
    assert.equal(r.rangeCount, parts);
    assert.ok(first.length > 0 && seqText.startsWith(first), 'the guess sees the first piece');
  }
  for (const estimate of [async () => null, async () => 100, async () => Promise.reject(new Error('x'))]) {
    const r = new SplitReader(SEQ, { shares: equalShares(2), minBytes: 1000, estimate });
    assert.equal(await all(r), seqText);
    assert.equal(r.rangeCount, 1, 'no guess, a small one or a failed one: one range');
  }
  const size = seqText.length;
  const over = new SplitReader(SEQ, { shares: equalShares(2), minBytes: 0, estimate: async () => size * 3 });
  assert.equal(await all(over), seqText, 'a guess too large: the later range starts past the end and is empty');
  const under = new SplitReader(SEQ, { shares: equalShares(2), minBytes: 0, estimate: async () => Math.round(size / 3) });
  assert.equal(await all(under), seqText, 'too small: the last range reads to the end');
});

test('SplitReader: a missing file rejects with its errno; cancel drops what was kept', async () => {
  await assert.rejects(all(new SplitReader('/nonexistent/sctpdiag/assocs', { shares: equalShares(2), minBytes: 0, estimate: async () => 1 })), {
    code: 'ENOENT',
  });
  await withFile('x\n'.repeat(1 << 19), async (path) => {
    const r = new SplitReader(path, { shares: equalShares(2), minBytes: 0, estimate: async () => 1 << 20 });
    r.cancel();
    await r.done;
    assert.ok((await all(r)).length < 1 << 20, 'not the whole file');
  });
});

test('estimateAssocsBytes: header plus the mean complete line times the count, from the first page', () => {
  const text = readFileSync(join(capture('many-a'), 'net/sctp/assocs'), 'utf8');
  const rows = text.trimEnd().split('\n').length - 1;
  const guess = estimateAssocsBytes(text.slice(0, 4096), rows);
  assert.ok(guess !== null && Math.abs(guess - text.length) / text.length < 0.1, `${guess} vs ${text.length}`);
  assert.equal(estimateAssocsBytes(text, rows), text.length, 'the whole file: exact');
  assert.equal(estimateAssocsBytes(text.slice(0, 4096), 0), null, 'no associations');
  assert.equal(estimateAssocsBytes(text.slice(0, text.indexOf('\n') + 20), rows), null, 'no complete line after the header');
  assert.equal(estimateAssocsBytes('', rows), null);
});

test('nextReadMs: as asked while reads are cheap; ≥ 10× a slow read (at most 60 s); recovers halfway', () => {
  assert.equal(nextReadMs(1000, 5), 1000);
  assert.equal(nextReadMs(1000, 150), 1500);
  assert.equal(nextReadMs(1000, 230), 2300, '1k associations in the lab');
  assert.equal(nextReadMs(1000, 5000), 50_000, '8k');
  assert.equal(nextReadMs(1000, 9600), 60_000, '10k: capped');
  assert.equal(nextReadMs(1000, 5, 60_000), 30_500, 'one fast read after slow ones: halfway back');
  assert.equal(nextReadMs(1000, 5, 50_000), 25_500);
  assert.equal(nextReadMs(100, 0.2), 100);
});
