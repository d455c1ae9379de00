/**
 * File access for paths a user or a file can name (captures, profiles,
 * journals, --proc-root trees): every one is untrusted when we run as root.
 * Reads: regular files only, never through a final symlink, never blocking
 * on a FIFO, at most maxBytes (a larger file is an error, not a truncation).
 * Writes: never through a symlink; whole files go to a temp file beside the
 * target and are renamed into place. Errors name the path and what was wrong,
 * never the file's content.
 */
import { constants, closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EXIT, SctpdiagError, type ExitCode } from './errors.js';

// O_NONBLOCK: opening a FIFO for reading must not wait for a writer (libuv adds O_CLOEXEC to every open)
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const WRITE_EXISTING_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
// node:crypto is loaded on the first write, not at start (~6 ms of every command's start otherwise)
const randomHex = () => process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex');

export type UnsafeReason = 'symlink' | 'not-regular' | 'too-large' | 'missing' | 'denied' | 'io';

/** What went wrong with an untrusted file; `code` is the errno name when there was one (ENOENT, ELOOP...). */
export class UnsafeFileError extends SctpdiagError {
  constructor(
    readonly path: string,
    readonly reason: UnsafeReason,
    message: string,
    exitCode: ExitCode,
    readonly code?: string,
  ) {
    super(message, exitCode);
    this.name = 'UnsafeFileError';
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function notRegular(path: string, st: Stats, verb: string): UnsafeFileError {
  return new UnsafeFileError(path, 'not-regular', `refusing to ${verb} ${path}: it is ${kindOf(st)}, not a regular file`, EXIT.USAGE, st.isDirectory() ? 'EISDIR' : undefined);
}

function tooLarge(path: string, maxBytes: number): UnsafeFileError {
  return new UnsafeFileError(path, 'too-large', `refusing to read ${path}: it is larger than ${maxBytes} bytes`, EXIT.USAGE, 'EFBIG');
}

/** Turn an errno error from open/read/write into an UnsafeFileError naming the path. */
export function fileError(path: string, e: unknown, verb = 'read'): UnsafeFileError {
  if (e instanceof UnsafeFileError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ELOOP':
      return new UnsafeFileError(path, 'symlink', `refusing to ${verb} ${path}: it is a symbolic link`, EXIT.USAGE, code);
    case 'ENOENT':
      return new UnsafeFileError(path, 'missing', `cannot ${verb} ${path}: it does not exist`, EXIT.NOT_FOUND, code);
    case 'EACCES':
    case 'EPERM':
      return new UnsafeFileError(path, 'denied', `cannot ${verb} ${path}: permission denied`, EXIT.PERMISSION, code);
    case 'EISDIR':
      return new UnsafeFileError(path, 'not-regular', `refusing to ${verb} ${path}: it is a directory, not a regular file`, EXIT.USAGE, code);
    case 'ENXIO':
      return new UnsafeFileError(path, 'not-regular', `refusing to ${verb} ${path}: it is not a regular file`, EXIT.USAGE, code);
    default:
      return new UnsafeFileError(path, 'io', `cannot ${verb} ${path}: ${code ?? (e as Error).message}`, EXIT.FAILURE, code);
  }
}

/** The read loop of both twins: regular files only, to EOF (procfs reports size 0), at most maxBytes. */
class Collector {
  private chunks: Buffer[] = [];
  private total = 0;
  private buf: Buffer | null = null;
  private done = false;
  private readonly chunkSize: number;
  constructor(
    private readonly path: string,
    st: Stats,
    private readonly maxBytes: number,
  ) {
    if (!st.isFile()) throw notRegular(path, st, 'read');
    if (st.size > maxBytes) throw tooLarge(path, maxBytes);
    this.chunkSize = Math.min(Math.max(st.size + 1, 4096), maxBytes + 1, 1 << 20);
  }
  /** the buffer for the next read, or null at EOF */
  next(): Buffer | null {
    if (this.done) return null;
    this.buf = Buffer.allocUnsafe(Math.min(this.chunkSize, this.maxBytes + 1 - this.total));
    return this.buf;
  }
  got(n: number): void {
    if (n === 0) {
      this.done = true;
      return;
    }
    this.total += n;
    if (this.total > this.maxBytes) throw tooLarge(this.path, this.maxBytes);
    this.chunks.push(n === this.buf!.length ? this.buf! : this.buf!.subarray(0, n));
  }
  result(): Buffer {
    return Buffer.concat(this.chunks, this.total);
  }
}

/** The bytes of a regular file, at most maxBytes (procfs files report size 0, so read to EOF). */
export async function readRegularFileBytes(path: string, maxBytes: number): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    const c = new Collector(path, await fh.stat(), maxBytes);
    for (let buf = c.next(); buf; buf = c.next()) c.got((await fh.read(buf, 0, buf.length, null)).bytesRead);
    return c.result();
  } catch (e) {
    throw fileError(path, e);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** A regular file as UTF-8 text, at most maxBytes. */
export async function readRegularFile(path: string, maxBytes: number): Promise<string> {
  return (await readRegularFileBytes(path, maxBytes)).toString('utf8');
}

/** readRegularFile(), or null when the file does not exist. */
export async function readRegularFileOrNull(path: string, maxBytes: number): Promise<string | null> {
  try {
    return await readRegularFile(path, maxBytes);
  } catch (e) {
    if (e instanceof UnsafeFileError && e.code === 'ENOENT') return null;
    throw e;
  }
}

/** Synchronous twin of readRegularFileBytes(). */
export function readRegularFileBytesSync(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    const c = new Collector(path, fstatSync(fd), maxBytes);
    for (let buf = c.next(); buf; buf = c.next()) c.got(readSync(fd, buf, 0, buf.length, null));
    return c.result();
  } catch (e) {
    throw fileError(path, e);
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

/** Synchronous twin of readRegularFile(). */
export function readRegularFileSync(path: string, maxBytes: number): string {
  return readRegularFileBytesSync(path, maxBytes).toString('utf8');
}

/**
 * Overwrite an existing regular file in place (a sysctl under /proc/sys or a
 * test tree): no O_CREAT, no following a symlink, no FIFO or device.
 */
export async function writeExistingFileNoFollow(path: string, data: string | Buffer): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, WRITE_EXISTING_FLAGS);
  } catch (e) {
    throw fileError(path, e, 'write');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, st, 'write');
    // procfs files report size 0; a regular file (a test tree) must lose its old text
    if (st.size > 0) await fh.truncate(0);
    await fh.write(typeof data === 'string' ? Buffer.from(data) : data, 0, undefined, 0);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Replace `path` atomically: a new temp file beside it (O_CREAT|O_EXCL|
 * O_NOFOLLOW, so a planted name or link is never written through), fsync,
 * rename into place, fsync the directory. Refuses a target that is a
 * symlink or not a regular file. The directory must exist.
 */
export async function writeFileAtomicNoFollow(path: string, data: string | Buffer, mode: number): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) throw new UnsafeFileError(path, 'symlink', `refusing to write ${path}: it is a symbolic link`, EXIT.USAGE, 'ELOOP');
    if (!st.isFile()) throw notRegular(path, st, 'write');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(path, e, 'write');
  }
  const dir = dirname(path);
  let fh: FileHandle | undefined;
  let tmp = '';
  for (let i = 0; i < 5 && !fh; i++) {
    tmp = join(dir, `.${basename(path)}.${randomHex()}.tmp`);
    try {
      fh = await open(tmp, CREATE_FLAGS, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i === 4) throw fileError(tmp, e, 'create');
    }
  }
  try {
    await fh!.chmod(mode); // the umask must not widen or narrow what the caller asked for
    await fh!.writeFile(data);
    await fh!.sync();
  } catch (e) {
    await fh!.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw fileError(path, e, 'write');
  }
  await fh!.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(path, e, 'write');
  }
  try {
    const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await d.sync().catch(() => undefined);
    await d.close();
  } catch {
    /* some filesystems refuse to fsync a directory */
  }
}
