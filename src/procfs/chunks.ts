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
import { close, open, read, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export type ChunkSink = (text: string) => void;

/** Larger than a page, so regular files (captures) come in few reads. */
const CHUNK = 64 * 1024;

function openRead(path: string): Promise<number> {
  return new Promise((res, rej) => open(path, 'r', (e, fd) => (e ? rej(e) : res(fd))));
}

function readInto(fd: number, buf: Buffer): Promise<number> {
  return new Promise((res, rej) => read(fd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));
}

export class ChunkReader {
  /** resolves at end of file (or after cancel), rejects with the open/read error */
  readonly done: Promise<void>;
  private pending: string[] = [];
  private sink: ChunkSink | null = null;
  private cancelled = false;
  private sync = false;

  constructor(readonly path: string) {
    this.done = this.run();
    // the error is the attach()er's to report; an unattached, cancelled reader must not crash the process
    this.done.catch(() => {});
  }

  /** Receive every piece, from the first; resolves when the file is read. */
  attach(sink: ChunkSink, o: { sync?: boolean } = {}): Promise<void> {
    if (this.sink) throw new Error(`${this.path}: reader already attached`);
    for (const t of this.pending) sink(t);
    this.pending = [];
    this.sink = sink;
    this.sync = o.sync === true;
    return this.done;
  }

  cancel(): void {
    this.cancelled = true;
    this.pending = [];
  }

  private emit(text: string): void {
    if (text === '') return;
    if (this.sink) this.sink(text);
    else if (!this.cancelled) this.pending.push(text);
  }

  private async run(): Promise<void> {
    const fd = await openRead(this.path);
    const decoder = new StringDecoder('utf8');
    let inFlight: Promise<number> | null = null;
    try {
      const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
      let i = 0;
      inFlight = readInto(fd, bufs[0]);
      for (;;) {
        const n = await inFlight;
        inFlight = null;
        if (n === 0 || this.cancelled) break;
        const text = decoder.write(bufs[i]!.subarray(0, n));
        if (this.sync) {
          this.emit(text);
          await this.readOnThisThread(fd, bufs[i]!, decoder);
          break;
        }
        i ^= 1;
        inFlight = readInto(fd, bufs[i]!); // the kernel makes the next page while we parse this one
        this.emit(text);
      }
      this.emit(decoder.end());
    } finally {
      // never close under a read in flight (a sink that threw leaves one)
      if (inFlight) await inFlight.catch(() => 0);
      close(fd, () => {});
    }
  }

  /** the rest of the file by read(2) here, yielding to the event loop after each page */
  private async readOnThisThread(fd: number, buf: Buffer, decoder: StringDecoder): Promise<void> {
    for (;;) {
      if (this.cancelled) return;
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      this.emit(decoder.write(buf.subarray(0, n)));
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
