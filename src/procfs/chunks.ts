/**
 * Reading a /proc/net/sctp file piece by piece, as the kernel produces it.
 *
 * Why (issue #7, measured in the lab on Debian's 6.1): the kernel, not us, is
 * the cost of a snapshot. /proc/net/sctp/{assocs,remaddr} are seq_files over
 * the transport hash table; every read() returns at most one page and makes
 * the kernel walk the table again from the start up to the current position,
 * so producing the file grows quadratically (10k associations: 527 reads,
 * ~6 s of kernel time in the TCG guest; 4 KiB, 64 KiB and 1 MiB buffers make
 * the same 527 calls). What we can do is never leave the kernel idle: one read
 * per file is always in flight on the libuv thread pool (the files are read
 * side by side), and each page is parsed while the kernel makes the next, so
 * our own work hides behind the kernel's.
 *
 * And the work can be shared between CPUs: a seq_file read at any byte offset
 * (pread) makes the kernel replay the records up to it once (seq_file.c
 * traverse(), linear) and then go on page by page from there. SplitReader reads
 * one file as several byte ranges side by side and hands the text on in file
 * order. The quadratic cost sets the boundaries (splitPoints). Measured in the
 * lab at 10k associations on 2 vCPUs: assocs alone 6.9 s in one range, 4.1 s
 * in two, 4.3 s in three.
 *
 * A range [from, to) means: the lines that *start* in it. A reader of a later
 * range starts one byte early and drops everything up to the first newline;
 * a reader goes past `to` to the end of its last line. Read of an unchanging
 * file, the ranges add up to the file exactly. Of a changing one, a record
 * may be seen twice or not at all at a boundary: the kernel itself does the
 * same at each of its page restarts (it resumes by record index).
 *
 * A reader may start before anyone listens (see prefetch.ts): pieces are kept
 * until `attach` and then replayed in order. `cancel` stops it after the read
 * in flight.
 *
 * `attach(sink, { sync: true })` switches to read(2) on the calling thread,
 * one page at a time with a turn of the event loop in between (other readers'
 * pages are parsed there). For the file that is the long pole this is faster:
 * in the lab at 10k a thread-pool round trip per page cost ~1.2 ms of the main
 * thread's time and the assocs read took 7.6 s that way, 6.8 s synchronously
 * (7.1 s with each page parsed as it came).
 */
import { close, fstat, open, read, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export type ChunkSink = (text: string) => void;

/** A file's text, handed on in order to whoever attaches: a ChunkReader, or a SplitReader of several. */
export interface PieceSource {
  /** resolves at end of file (or after cancel), rejects with the open/read error */
  readonly done: Promise<void>;
  /** Receive every piece, from the first; resolves when the file is read. */
  attach(sink: ChunkSink, o?: { sync?: boolean }): Promise<void>;
  cancel(): void;
}

/** Larger than a page, so regular files (captures) come in few reads. */
const CHUNK = 64 * 1024;
const NL = 10;

function openRead(path: string): Promise<number> {
  return new Promise((res, rej) => open(path, 'r', (e, fd) => (e ? rej(e) : res(fd))));
}

function sizeOf(fd: number): Promise<number> {
  return new Promise((res, rej) => fstat(fd, (e, st) => (e ? rej(e) : res(st.size))));
}

function readAt(fd: number, buf: Buffer, pos: number): Promise<number> {
  return new Promise((res, rej) => read(fd, buf, 0, buf.length, pos, (e, n) => (e ? rej(e) : res(n))));
}

export interface Range {
  /** first byte offset whose line is ours (a line starting before it is the previous range's) */
  from?: number;
  /** lines starting at or after this offset are not ours; default: to the end */
  to?: number;
}

/** What both readers share: pieces kept until someone attaches, then handed on in order. */
abstract class PieceBuffer implements PieceSource {
  abstract readonly done: Promise<void>;
  protected cancelled = false;
  private pending: string[] = [];
  private sink: ChunkSink | null = null;

  constructor(readonly path: string) {}

  attach(sink: ChunkSink, o: { sync?: boolean } = {}): Promise<void> {
    if (this.sink) throw new Error(`${this.path}: reader already attached`);
    for (const t of this.pending) sink(t);
    this.pending = [];
    this.sink = sink;
    if (o.sync === true) this.readHere();
    return this.done;
  }

  /** From the next read on, read(2) on this thread (see the top of the file). */
  abstract readHere(): void;

  cancel(): void {
    this.cancelled = true;
    this.pending = [];
  }

  protected out(text: string): void {
    if (text === '') return;
    if (this.sink) this.sink(text);
    else if (!this.cancelled) this.pending.push(text);
  }
}

export class ChunkReader extends PieceBuffer {
  readonly done: Promise<void>;
  /** the size fstat(2) gives once open: 0 for procfs files, which are made as they are read */
  fileSize: number | null = null;
  private sync = false;
  private end: number;
  /** true until the partial line before `from` is dropped */
  private skipping: boolean;
  /** offset up to which bytes have been looked at (handed on or dropped) */
  private seen: number;
  /** whether a line starts at `seen` (the byte before it is a newline, or it is 0) */
  private lineStart: boolean;
  private finished = false;

  constructor(path: string, range: Range = {}) {
    super(path);
    const from = range.from ?? 0;
    this.end = range.to ?? Infinity;
    this.skipping = from > 0;
    this.seen = from > 0 ? from - 1 : 0;
    this.lineStart = from === 0;
    this.done = this.run();
    // the error is the attach()er's to report; an unattached, cancelled reader must not crash the process
    this.done.catch(() => {});
  }

  readHere(): void {
    this.sync = true;
  }

  /**
   * End the range at `to` (a reader made without an end, now that the
   * file's size can be guessed). False, and nothing changed, if the reader
   * has already looked past it or is done.
   */
  limit(to: number): boolean {
    if (this.finished || this.end !== Infinity || to - 1 < this.seen) return false;
    this.end = to;
    return true;
  }

  /**
   * The part of `buf` (bytes at offsets seen.., `buf.length` of them) that is
   * ours, decoded; `last` when the range ends in it.
   */
  private take(buf: Buffer, decoder: StringDecoder): { text: string; last: boolean } {
    const at = this.seen;
    const lineStart = this.lineStart;
    this.seen += buf.length;
    this.lineStart = buf.length > 0 && buf[buf.length - 1] === NL;
    let a = 0;
    if (this.skipping) {
      const nl = buf.indexOf(NL);
      if (nl < 0) return { text: '', last: false };
      a = nl + 1;
      this.skipping = false;
    }
    let b = buf.length;
    let last = false;
    if (this.end !== Infinity) {
      // the newline just before `end`, or the first after it, ends our last line
      const from = this.end - 1 - at;
      if (from < a && (a > 0 || lineStart)) {
        b = a; // a line starts here, at or after the end: nothing is ours
        last = true;
      } else if (from < a) {
        // past the end inside a line that started before it (it is ours): to its newline
        const nl = buf.indexOf(NL);
        if (nl >= 0) {
          b = nl + 1;
          last = true;
        }
      } else if (from < buf.length) {
        const nl = buf.indexOf(NL, from);
        if (nl >= 0) {
          b = nl + 1;
          last = true;
        }
      }
    }
    return { text: b > a ? decoder.write(buf.subarray(a, b)) : '', last };
  }

  private async run(): Promise<void> {
    const fd = await openRead(this.path);
    const decoder = new StringDecoder('utf8');
    let inFlight: Promise<number> | null = null;
    try {
      this.fileSize = await sizeOf(fd);
      const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
      let i = 0;
      inFlight = readAt(fd, bufs[0], this.seen);
      for (;;) {
        const n = await inFlight;
        inFlight = null;
        if (n === 0 || this.cancelled) break;
        const { text, last } = this.take(bufs[i]!.subarray(0, n), decoder);
        if (last) {
          this.out(text);
          break;
        }
        if (this.sync) {
          this.out(text);
          await this.readOnThisThread(fd, bufs[i]!, decoder);
          break;
        }
        i ^= 1;
        inFlight = readAt(fd, bufs[i]!, this.seen); // the kernel makes the next page while we parse this one
        this.out(text);
      }
      this.out(decoder.end());
    } finally {
      this.finished = true;
      // never close under a read in flight (a sink that threw leaves one)
      if (inFlight) await inFlight.catch(() => 0);
      close(fd, () => {});
    }
  }

  /** the rest of the range by read(2) here, yielding to the event loop after each page */
  private async readOnThisThread(fd: number, buf: Buffer, decoder: StringDecoder): Promise<void> {
    for (;;) {
      // a turn of the event loop first: what the last piece started (a size
      // guess, a limit()) runs before the next read
      await new Promise<void>((r) => setImmediate(r));
      if (this.cancelled) return;
      const n = readSync(fd, buf, 0, buf.length, this.seen);
      if (n === 0) return;
      const { text, last } = this.take(buf.subarray(0, n), decoder);
      this.out(text);
      if (last) return;
    }
  }
}

/**
 * Where to cut a file of about `total` bytes into ranges whose kernel costs
 * are the given `shares` (fractions summing to 1, one per range). Producing
 * the bytes up to offset x costs ∝ x² (every page restarts the walk from the
 * first record), so a range ends at total·√(the shares up to and including
 * it): with equal shares the first range is the longest. Returns one offset
 * more than there are shares, 0 first and `Infinity` last (the last range
 * reads to the end whatever the file's real size).
 */
export function splitPoints(total: number, shares: readonly number[]): number[] {
  const cuts = [0];
  let sum = 0;
  for (const s of shares.slice(0, -1)) cuts.push(Math.round(total * Math.sqrt((sum += s))));
  cuts.push(Infinity);
  return cuts;
}

/** `parts` equal shares */
export function equalShares(parts: number): number[] {
  return Array.from({ length: Math.max(1, parts) }, () => 1 / Math.max(1, parts));
}

export interface SplitOptions {
  /** the kernel-cost share of each range read side by side when the file is large (see splitPoints) */
  shares: readonly number[];
  /** do not split below this size guess (a few pages cost the kernel little) */
  minBytes: number;
  /** the file's size in bytes, guessed from its first piece; null: read it in one range */
  estimate(first: string): Promise<number | null>;
  /** called when the later ranges start, with the cuts */
  onSplit?: (cuts: readonly number[]) => void;
}

/**
 * One file read as several ranges side by side, its text handed on in file
 * order (see the top of the file). The first range starts at once; when its
 * first piece is in, `estimate` guesses the size, the first range is cut short
 * and the others start. A regular file (a capture), a small or unguessable
 * one is read in one range.
 */
export class SplitReader extends PieceBuffer {
  readonly done: Promise<void>;
  private readonly ranges: ChunkReader[] = [];
  /** pieces of later ranges, kept until the ranges before them are done */
  private readonly held: string[][] = [];
  private current = 0;
  private firstPiece: ((text: string | null) => void) | null = null;

  constructor(
    path: string,
    private readonly o: SplitOptions,
  ) {
    super(path);
    this.done = this.run();
    this.done.catch(() => {});
  }

  /** the first range is the longest: it is the one to read on this thread */
  readHere(): void {
    this.ranges[0]!.readHere();
  }

  override cancel(): void {
    super.cancel();
    for (const r of this.ranges) r.cancel();
  }

  /** how many ranges the file is being read in (1 until split) */
  get rangeCount(): number {
    return this.ranges.length;
  }

  private start(i: number, range: Range): ChunkReader {
    const r = new ChunkReader(this.path, range);
    this.ranges[i] = r;
    this.held[i] = [];
    void r.attach((t) => this.piece(i, t)).catch(() => {});
    return r;
  }

  private piece(i: number, text: string): void {
    if (i === 0 && this.firstPiece) {
      const f = this.firstPiece;
      this.firstPiece = null;
      f(text);
    }
    if (i === this.current) this.out(text);
    else this.held[i]!.push(text);
  }

  private async run(): Promise<void> {
    const got = new Promise<string | null>((res) => (this.firstPiece = res));
    const first = this.start(0, {});
    // an empty file has no first piece
    void first.done.then(
      () => this.firstPiece?.(null),
      () => this.firstPiece?.(null),
    );
    try {
      const text = await got;
      this.firstPiece = null;
      if (text !== null && !this.cancelled && this.o.shares.length > 1 && first.fileSize === 0) {
        const size = await this.o.estimate(text).catch(() => null);
        if (size !== null && size >= this.o.minBytes && !this.cancelled) {
          const cuts = splitPoints(size, this.o.shares);
          if (first.limit(cuts[1]!)) {
            for (let i = 1; i + 1 < cuts.length; i++) this.start(i, { from: cuts[i]!, to: cuts[i + 1]! });
            this.o.onSplit?.(cuts);
          }
        }
      }
      for (let i = 0; i < this.ranges.length; i++) {
        this.current = i;
        for (const t of this.held[i]!) this.out(t);
        this.held[i] = [];
        await this.ranges[i]!.done;
      }
    } catch (e) {
      for (const r of this.ranges) r.cancel();
      throw e;
    }
  }
}
