/**
 * The one way a /proc/net/sctp file (or its copy in a capture) is read: page
 * by page, each page parsed as it comes, refusing anything but a regular file
 * of bounded size, and timing the read syscalls (kernel/pacing.ts paces by them).
 *
 * A large procfs file can be read as two byte ranges side by side (`guessSize`):
 * every read(2) of assocs restarts the kernel's walk from the first transport,
 * so printing bytes up to x costs ∝ x², and a read at an offset replays the
 * records before it once (seq_file traverse()). Cut at size·√½, each range is
 * half the kernel's work, on a CPU of its own.
 */
import { close, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { EXIT, SctpdiagError } from '../errors.js';
import { feedFor, type LineParser } from './parse.js';

/** a procfs read returns at most a page; a capture's regular file comes in few reads */
const CHUNK = 64 * 1024;
/** far above 100k associations (~25 MB of assocs): a larger file is not what the kernel prints */
export const MAX_SCTP_FILE_BYTES = 64 * 1024 * 1024;
/** below this (~1,200 associations in assocs) one range costs the kernel too little to share out */
export const SPLIT_MIN_BYTES = 256 * 1024;
const NL = 10;

export interface SctpFileRead<R> {
  result: R;
  /** time spent inside read(2), ms: the kernel's printing for a procfs file */
  kernelMs: number;
  /** 2 when the file was read as two byte ranges side by side */
  ranges: number;
  /** the whole text, when asked for (`capture` saves what the snapshot was made of) */
  text?: string;
}

export interface SctpFileOptions {
  /** read(2) on this thread, a turn of the event loop between pages: exact syscall times, for the long pole */
  sync?: boolean;
  keepText?: boolean;
  maxBytes?: number;
  /** the file's likely size from its first page (null: unknown); at SPLIT_MIN_BYTES or more its tail is read beside (for procfs) */
  guessSize?: (firstPage: string) => number | null;
}

// O_NONBLOCK: opening a FIFO planted in a capture must not wait for a writer
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const readAt = (fd: number, buf: Buffer, pos: number) =>
  new Promise<number>((res, rej) => read(fd, buf, 0, buf.length, pos, (e, n) => (e ? rej(e) : res(n))));

function refuse(path: string, what: string): SctpdiagError {
  return new SctpdiagError(`${path}: ${what}; not read`, EXIT.USAGE);
}

function openChecked(path: string, max: number): { fd: number; procfs: boolean } {
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
    // procfs makes the text as it is read and says size 0
    return { fd, procfs: st.size === 0 };
  } catch (e) {
    close(fd, () => {});
    throw e;
  }
}

/**
 * One byte range of a file as whole lines. Ranges meet at a boundary b: the
 * first range ends with the line holding byte b−1, the next starts after it
 * (it reads from b−1 and drops up to its first newline), so ranges of an
 * unchanging file add up to it exactly. If the table changes between the two
 * walks, the rows printed within a row's length after b come twice (one added
 * before b; the snapshot lists them once) or not at all (one removed), as a
 * row does at each of the kernel's own page restarts (it resumes by index).
 */
export interface Range {
  /** > 0: start after the line holding byte from−1 */
  from: number;
  /** the line holding byte to−1 is the last (read as the range goes: it may be set after the first page) */
  to: number;
  /** the bytes looked at so far end here */
  pos: number;
  kernelMs: number;
}

export type PageReader = (buf: Buffer, pos: number) => number | Promise<number>;

/**
 * Read `r` through `readPage` (n ≤ buf.length bytes at pos), handing its text on
 * by `out`; `each(page)` runs after every page that returned data.
 * `total` counts the bytes against `max`.
 */
export async function readRange(
  r: Range,
  readPage: PageReader,
  out: (text: string) => void,
  o: { path: string; max: number; total: { bytes: number }; each?: (page: string) => Promise<void> | void },
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(CHUNK);
  let skipping = r.from > 0;
  r.pos = skipping ? r.from - 1 : 0;
  for (;;) {
    const t0 = performance.now();
    const n = await readPage(buf, r.pos);
    r.kernelMs += performance.now() - t0;
    if (n === 0) break;
    o.total.bytes += n;
    if (o.total.bytes > o.max) throw refuse(o.path, `is larger than ${o.max >> 20} MiB`);
    const page = buf.subarray(0, n);
    const at = r.pos;
    r.pos += n;
    let a = 0;
    if (skipping) {
      const nl = page.indexOf(NL);
      if (nl < 0) continue;
      a = nl + 1;
      skipping = false;
    }
    // the newline ending the line that holds byte to−1
    const nl = r.to - 1 < r.pos ? page.indexOf(NL, Math.max(a, r.to - 1 - at)) : -1;
    const text = decoder.write(page.subarray(a, nl >= 0 ? nl + 1 : n));
    out(text);
    if (nl >= 0) break;
    await o.each?.(text);
  }
  out(decoder.end());
}

interface Tail {
  r: Range;
  texts: string[];
  done: Promise<void>;
  fd: number;
}

/** Read `path` through `parser`. Errors from open/read are rethrown as they are (the caller names the exit code). */
export async function readSctpFile<R>(path: string, parser: LineParser<R>, o: SctpFileOptions = {}): Promise<SctpFileRead<R>> {
  const max = o.maxBytes ?? MAX_SCTP_FILE_BYTES;
  const { fd, procfs } = openChecked(path, max);
  const feed = feedFor(parser);
  const pieces: string[] | null = o.keepText ? [] : null;
  const take = (text: string) => {
    if (text === '') return;
    pieces?.push(text);
    feed.push(text);
  };
  const total = { bytes: 0 };
  const head: Range = { from: 0, to: Infinity, pos: 0, kernelMs: 0 };
  // the tail range, if any: its own open file (a seq_file's position is per open), read on the thread pool, its text kept until the head ends
  const tails: Tail[] = [];
  const startTail = (size: number | null) => {
    if (size === null || size < SPLIT_MIN_BYTES) return;
    const cut = Math.round(size * Math.SQRT1_2);
    if (cut <= head.pos) return;
    const t = openChecked(path, max);
    head.to = cut;
    const r: Range = { from: cut, to: Infinity, pos: 0, kernelMs: 0 };
    const texts: string[] = [];
    const done = readRange(r, (b, p) => readAt(t.fd, b, p), (s) => texts.push(s), { path, max, total });
    // its error is reported where it is awaited, never as an unhandled rejection meanwhile
    done.catch(() => {});
    tails.push({ r, texts, done, fd: t.fd });
  };
  let first = true;
  const each = async (page: string) => {
    if (first && o.guessSize) startTail(o.guessSize(page));
    first = false;
    // a procfs page: let the other readers' pages be handled while the kernel makes the next
    if (o.sync && procfs) await new Promise<void>((r) => setImmediate(r));
  };
  try {
    const readPage: PageReader = o.sync || !procfs ? (b, p) => readSync(fd, b, 0, b.length, p) : (b, p) => readAt(fd, b, p);
    await readRange(head, readPage, take, { path, max, total, each });
    let kernelMs = head.kernelMs;
    for (const t of tails) {
      await t.done;
      for (const s of t.texts) take(s);
      kernelMs += t.r.kernelMs;
    }
    feed.end();
    return { result: parser.result(), kernelMs, ranges: 1 + tails.length, ...(pieces ? { text: pieces.join('') } : {}) };
  } finally {
    close(fd, () => {});
    for (const t of tails) {
      // the head failed: the tail ends with the line it is in (a no-op once it is done); never closed under a read in flight
      t.r.to = 0;
      void t.done.catch(() => {}).finally(() => close(t.fd, () => {}));
    }
  }
}
