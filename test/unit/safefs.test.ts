import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, stat, symlink, writeFile, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/errors.js';
import {
  readRegularFile,
  readRegularFileOrNull,
  readRegularFileSync,
  UnsafeFileError,
  writeExistingFileNoFollow,
  writeFileAtomicNoFollow,
} from '../../src/safefs.js';

const SECRET = 'root:$6$secret-hash:19000:0:99999:7:::';

async function tree() {
  const dir = await mkdtemp(join(tmpdir(), 'sctpdiag-safefs-'));
  await writeFile(join(dir, 'secret'), SECRET + '\n');
  await writeFile(join(dir, 'ok'), 'hello\n');
  await symlink(join(dir, 'secret'), join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await mkdir(join(dir, 'subdir'));
  return dir;
}

function rejectsWith(reason: string, re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof UnsafeFileError, `expected UnsafeFileError, got ${String(e)}`);
    assert.equal(e.reason, reason);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('secret-hash'), 'the error must not echo the content');
    return true;
  };
}

const readers = [
  ['async', (p: string, n: number) => readRegularFile(p, n)],
  ['sync', async (p: string, n: number) => readRegularFileSync(p, n)],
] as const;

for (const [name, read] of readers) {
  test(`safefs ${name}: reads a regular file`, async () => {
    const d = await tree();
    assert.equal(await read(join(d, 'ok'), 100), 'hello\n');
    assert.equal(await read(join(d, 'ok'), 6), 'hello\n', 'exactly maxBytes is allowed');
  });

  test(`safefs ${name}: refuses a symlink, naming it`, async () => {
    const d = await tree();
    await assert.rejects(read(join(d, 'link'), 1000), rejectsWith('symlink', /link: it is a symbolic link/));
  });

  test(`safefs ${name}: a FIFO is refused at once, not waited on`, async () => {
    const d = await tree();
    await assert.rejects(read(join(d, 'fifo'), 1000), rejectsWith('not-regular', /fifo: it is a FIFO/));
  });

  test(`safefs ${name}: a character device (/dev/zero) is refused`, async () => {
    await assert.rejects(read('/dev/zero', 1000), rejectsWith('not-regular', /\/dev\/zero: it is a character device/));
  });

  test(`safefs ${name}: a directory is refused`, async () => {
    const d = await tree();
    await assert.rejects(read(join(d, 'subdir'), 1000), rejectsWith('not-regular', /subdir: it is a directory/));
  });

  test(`safefs ${name}: a file larger than maxBytes is an error, not a truncation`, async () => {
    const d = await tree();
    await assert.rejects(read(join(d, 'secret'), 10), (e: unknown) => {
      rejectsWith('too-large', /secret: it is larger than 10 bytes/)(e);
      assert.equal((e as UnsafeFileError).exitCode, EXIT.USAGE);
      return true;
    });
  });

  test(`safefs ${name}: a missing file says so (ENOENT, exit NOT_FOUND)`, async () => {
    const d = await tree();
    await assert.rejects(read(join(d, 'nope'), 10), (e: unknown) => {
      assert.ok(e instanceof UnsafeFileError);
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.exitCode, EXIT.NOT_FOUND);
      return true;
    });
  });
}

test('safefs: a procfs file (size 0 in stat) is read to its end', async () => {
  const text = await readRegularFile('/proc/self/status', 1 << 20);
  assert.match(text, /^Name:/);
  await assert.rejects(readRegularFile('/proc/self/status', 16), rejectsWith('too-large', /larger than 16 bytes/));
});

test('safefs: readRegularFileOrNull is null only for a missing file', async () => {
  const d = await tree();
  assert.equal(await readRegularFileOrNull(join(d, 'nope'), 10), null);
  await assert.rejects(readRegularFileOrNull(join(d, 'link'), 100), rejectsWith('symlink', /symbolic link/));
});

test('safefs: writeFileAtomicNoFollow creates and replaces a file with the mode asked for, leaving no temp file', async () => {
  const d = await tree();
  const f = join(d, 'out.json');
  await writeFileAtomicNoFollow(f, 'one\n', 0o600);
  assert.equal(await readFile(f, 'utf8'), 'one\n');
  assert.equal((await stat(f)).mode & 0o777, 0o600);
  await writeFileAtomicNoFollow(f, Buffer.from('two\n'), 0o644);
  assert.equal(await readFile(f, 'utf8'), 'two\n');
  assert.equal((await stat(f)).mode & 0o777, 0o644);
  assert.deepEqual((await readdir(d)).filter((n) => n.endsWith('.tmp')), []);
});

test('safefs: writeFileAtomicNoFollow refuses a symlinked target and leaves the link and its target alone', async () => {
  const d = await tree();
  await assert.rejects(writeFileAtomicNoFollow(join(d, 'link'), 'pwned\n', 0o644), rejectsWith('symlink', /link: it is a symbolic link/));
  assert.ok((await lstat(join(d, 'link'))).isSymbolicLink());
  assert.equal(await readlink(join(d, 'link')), join(d, 'secret'));
  assert.equal(await readFile(join(d, 'secret'), 'utf8'), SECRET + '\n');
});

test('safefs: writeFileAtomicNoFollow refuses a directory or FIFO target', async () => {
  const d = await tree();
  await assert.rejects(writeFileAtomicNoFollow(join(d, 'subdir'), 'x', 0o644), rejectsWith('not-regular', /directory/));
  await assert.rejects(writeFileAtomicNoFollow(join(d, 'fifo'), 'x', 0o644), rejectsWith('not-regular', /FIFO/));
});

test('safefs: writeExistingFileNoFollow overwrites a regular file, never creates one, never follows a link', async () => {
  const d = await tree();
  await writeExistingFileNoFollow(join(d, 'ok'), '7\n');
  assert.equal(await readFile(join(d, 'ok'), 'utf8'), '7\n');
  await assert.rejects(writeExistingFileNoFollow(join(d, 'new'), '1\n'), (e: unknown) => (e as UnsafeFileError).code === 'ENOENT');
  await assert.rejects(readdir(d).then((n) => (n.includes('new') ? Promise.resolve() : Promise.reject(new Error('absent')))));
  await assert.rejects(writeExistingFileNoFollow(join(d, 'link'), 'pwned\n'), rejectsWith('symlink', /symbolic link/));
  assert.equal(await readFile(join(d, 'secret'), 'utf8'), SECRET + '\n');
  await assert.rejects(writeExistingFileNoFollow(join(d, 'fifo'), 'x'), rejectsWith('not-regular', /FIFO|not a regular file/));
});
