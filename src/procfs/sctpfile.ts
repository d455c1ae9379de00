/**
 * The one way a /proc/net/sctp file (or its copy in a capture) is read: page
 * by page, each page parsed as it comes, refusing anything but a regular file
 * of bounded size, and timing the read syscalls (kernel/pacing.ts paces by them).
 */
import { close, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { EXIT, SctpdiagError } from '../errors.js';
import { feedFor, type LineParser } from './parse.js';

/** a procfs read returns at most a page; a capture's regular file comes in few reads */
const CHUNK = 64 * 1024;
/** far above 100k associations (~25 MB of assocs): a larger file is not what the kernel prints */
export const MAX_SCTP_FILE_BYTES = 64 * 1024 * 1024;

export interface SctpFileRead<R> {
  result: R;
  /** time spent inside read(2), ms: the kernel's printing for a procfs file */
  kernelMs: number;
  /** the whole text, when asked for (`capture` saves what the snapshot was made of) */
  text?: string;
}

export interface SctpFileOptions {
  /** read(2) on this thread, a turn of the event loop between pages: exact syscall times, for the long pole */
  sync?: boolean;
  keepText?: boolean;
  maxBytes?: number;
}

// O_NONBLOCK: opening a FIFO planted in a capture must not wait for a writer
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const readP = (fd: number, buf: Buffer) => new Promise<number>((res, rej) => read(fd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));

function refuse(path: string, what: string): SctpdiagError {
  return new SctpdiagError(`${path}: ${what}; not read`, EXIT.USAGE);
}

/** Read `path` through `parser`. Errors from open/read are rethrown as they are (the caller names the exit code). */
export async function readSctpFile<R>(path: string, parser: LineParser<R>, o: SctpFileOptions = {}): Promise<SctpFileRead<R>> {
  const max = o.maxBytes ?? MAX_SCTP_FILE_BYTES;
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw refuse(path, 'is a symbolic link');
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw refuse(path, 'is a directory, not a file');
    if (!st.isFile()) throw refuse(path, 'is not a regular file');
    if (st.size > max) throw refuse(path, `is larger than ${max >> 20} MiB`);
    const feed = feedFor(parser);
    const decoder = new StringDecoder('utf8');
    const pieces: string[] | null = o.keepText ? [] : null;
    const buf = Buffer.allocUnsafe(CHUNK);
    let kernelMs = 0;
    let total = 0;
    // procfs makes the text as it is read (size 0): the kernel's work, off this thread unless `sync`;
    // a regular file (a capture) is read here at once
    const procfs = st.size === 0;
    for (;;) {
      const t0 = performance.now();
      const n = o.sync || !procfs ? readSync(fd, buf, 0, CHUNK, null) : await readP(fd, buf);
      kernelMs += performance.now() - t0;
      if (n === 0) break;
      total += n;
      // procfs files report size 0: the cap is enforced on what arrives
      if (total > max) throw refuse(path, `is larger than ${max >> 20} MiB`);
      const text = decoder.write(buf.subarray(0, n));
      pieces?.push(text);
      feed.push(text);
      // a procfs page: let the other files' pages be parsed while the kernel makes the next
      if (o.sync && procfs) await new Promise<void>((r) => setImmediate(r));
    }
    const tail = decoder.end();
    pieces?.push(tail);
    feed.push(tail);
    feed.end();
    return { result: parser.result(), kernelMs, ...(pieces ? { text: pieces.join('') } : {}) };
  } finally {
    close(fd, () => {});
  }
}
