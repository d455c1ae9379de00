/**
 * Hostile captures (issue #13, items 7 and 11): what `--proc-root` points at
 * is untrusted. Each case hung, grew without bound, crashed or misreported
 * before readSctpFile() and the capture checks.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSnapshot } from '../../src/procfs/read.js';
import { readSctpFile } from '../../src/procfs/sctpfile.js';
import { assocsParser, LineFeed, MAX_LINE, parseAssocs } from '../../src/procfs/parse.js';
import { capture, CLI, real } from '../helpers.js';

/** a copy of a real capture, changed by `spoil` */
function spoiled(spoil: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'sctpdiag-hostile-'));
  cpSync(capture('two-path-a'), root, { recursive: true });
  spoil(root);
  return root;
}
const sctp = (root: string, f: string) => join(root, 'net', 'sctp', f);

async function rejectsWith(root: string, code: number, re: RegExp): Promise<void> {
  try {
    await assert.rejects(readSnapshot({ procRoot: root, netns: null }), (e: Error & { exitCode?: number }) => {
      assert.match(e.message, re);
      assert.equal(e.exitCode, code, e.message);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a FIFO in place of a procfs file is refused at once (it hung forever)', { timeout: 10_000 }, async () => {
  await rejectsWith(
    spoiled((r) => {
      rmSync(sctp(r, 'assocs'));
      spawnSync('mkfifo', [sctp(r, 'assocs')]);
    }),
    2,
    /net\/sctp\/assocs: is not a regular file/,
  );
});

test('a FIFO as a small optional file (osrelease, hb_interval) does not hang the snapshot', { timeout: 10_000 }, async () => {
  const root = spoiled((r) => {
    rmSync(join(r, 'sctpdiag-capture.json'));
    mkdirSync(join(r, 'sys', 'kernel'), { recursive: true });
    spawnSync('mkfifo', [join(r, 'sys', 'kernel', 'osrelease')]);
    rmSync(join(r, 'sys', 'net', 'sctp', 'hb_interval'), { force: true });
    spawnSync('mkfifo', [join(r, 'sys', 'net', 'sctp', 'hb_interval')]);
  });
  try {
    const s = await readSnapshot({ procRoot: root, netns: null, hz: 250 });
    assert.equal(s.kernelRelease, null);
    assert.ok(s.associations.length > 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a symlink to /dev/urandom is refused (it grew without bound)', { timeout: 10_000 }, async () => {
  await rejectsWith(
    spoiled((r) => {
      rmSync(sctp(r, 'remaddr'));
      symlinkSync('/dev/urandom', sctp(r, 'remaddr'));
    }),
    2,
    /net\/sctp\/remaddr: is a symbolic link/,
  );
});

test('a directory in place of a file: exit 2 naming it (was an internal error, exit 1)', async () => {
  await rejectsWith(
    spoiled((r) => {
      rmSync(sctp(r, 'eps'));
      mkdirSync(sctp(r, 'eps'));
    }),
    2,
    /net\/sctp\/eps: is a directory/,
  );
});

test('size caps: a regular file by its size, a procfs file (size 0) by what arrives', async () => {
  const root = spoiled(() => {});
  try {
    const p = { line: () => {}, warn: () => {}, result: () => null };
    await assert.rejects(readSctpFile(sctp(root, 'assocs'), p, { maxBytes: 100 }), /is larger than/);
    // /proc/self/maps reports size 0, like /proc/net/sctp
    await assert.rejects(readSctpFile('/proc/self/maps', p, { maxBytes: 100 }), /is larger than/);
    assert.ok((await readSctpFile('/proc/self/maps', p, { keepText: true })).text!.length > 100);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a 20 MB line with no newline, fed page by page: linear, skipped with a warning naming file:line', { timeout: 20_000 }, () => {
  const parser = assocsParser('cap/assocs');
  const feed = new LineFeed(parser.line, (ln) => parser.warn(ln, 'too long'));
  const header = real('two-path-failover/a_assocs.txt').split('\n')[0]! + '\n';
  feed.push(header);
  const page = 'x'.repeat(4096);
  for (let n = 0; n < (20 << 20) / 4096; n++) feed.push(page);
  feed.push('\n' + real('two-path-failover/a_assocs.txt').split('\n')[1]!);
  feed.end();
  const r = parser.result();
  assert.deepEqual(r.warnings, [{ file: 'cap/assocs', line: 2, message: 'too long' }]);
  assert.equal(r.rows.length, 1, 'the line after it is read');
  assert.equal(r.rows[0]!.line, 3);
  // a line just under the cap is still a line (one bad row, not an overlong one)
  const long = parseAssocs(header + 'y'.repeat(MAX_LINE - 1) + '\n');
  assert.match(long.warnings[0]!.message, /line skipped/);
});

for (const [what, meta, re] of [
  ['hz 0 (gave "Infinity ms")', { hz: 0 }, /hz 0 is not a kernel HZ/],
  ['hz as a string', { hz: '250' }, /hz "250" is not a kernel HZ/],
  ['a bad capturedAt (exit 1)', { capturedAt: 'yesterday' }, /capturedAt "yesterday" is not an ISO time/],
  ['netns not a string', { netns: 7 }, /netns is not a string/],
] as const)
  test(`capture metadata: ${what} → exit 2 naming the field`, async () => {
    await rejectsWith(
      spoiled((r) => {
        const f = join(r, 'sctpdiag-capture.json');
        writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), ...meta }));
      }),
      2,
      re,
    );
  });

test('capture metadata that is not JSON: exit 2; the CLI writes nothing to stdout', () => {
  const root = spoiled((r) => writeFileSync(join(r, 'sctpdiag-capture.json'), '{"hz": 250,'));
  try {
    const r = spawnSync(process.execPath, [CLI, '--proc-root', root, '--json', 'status'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /sctpdiag-capture\.json: not JSON/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('duplicate ASSOC-IDs and remaddr rows of unknown associations are warned about with file:line', async () => {
  const root = spoiled((r) => {
    const a = readFileSync(sctp(r, 'assocs'), 'utf8').trimEnd().split('\n');
    writeFileSync(sctp(r, 'assocs'), [...a, a[1]!].join('\n') + '\n');
    const m = readFileSync(sctp(r, 'remaddr'), 'utf8').trimEnd().split('\n');
    const stray = m[1]!.replace(/^(\s*\S+\s+)\d+/, '$1 424242');
    writeFileSync(sctp(r, 'remaddr'), [...m, stray].join('\n') + '\n');
  });
  try {
    const s = await readSnapshot({ procRoot: root, netns: null });
    const assocsLines = readFileSync(sctp(root, 'assocs'), 'utf8').trimEnd().split('\n').length;
    const remaddrLines = readFileSync(sctp(root, 'remaddr'), 'utf8').trimEnd().split('\n').length;
    const w = s.warnings.map((x) => `${x.file.replaceAll(root, 'R')}:${x.line}: ${x.message.replaceAll(root, 'R')}`);
    assert.ok(w.some((x) => new RegExp(`^R/net/sctp/assocs:${assocsLines}: ASSOC-ID \\d+ printed again`).test(x)), w.join('\n'));
    assert.ok(w.includes(`R/net/sctp/remaddr:${remaddrLines}: ASSOC_ID 424242 is no association in R/net/sctp/assocs; line skipped`), w.join('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
