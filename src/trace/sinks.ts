/**
 * Where events go: a human line, NDJSON on --json, and the rotating NDJSON log (--log FILE). The log gets
 * synchronous write(2)s of whole lines, so a crash never leaves half a line; a log that fails (disk full) is
 * cut back to its last whole line, stopped and reported once as log.error while the trace goes on.
 */
import { closeSync, constants, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { EVENT_SCHEMA_VERSION, type SctpEvent } from '../events/types.js';
import { fileError } from '../safefs.js';
import type { Style } from '../render/style.js';
import { escapeControl } from '../render/escape.js';

export function formatEventLine(e: SctpEvent, s: Style): string {
  const t = e.time.slice(11, 23);
  const sev = e.severity === 'fail' ? s.red : e.severity === 'warn' ? s.yellow : (x: string) => x;
  const parts: string[] = [s.dim(t), sev(e.type.padEnd(17))];
  if (e.assoc) parts.push(`assoc ${e.assoc.id}${e.assoc.localPort ? ` ${e.assoc.localPort}->${e.assoc.peerPort ?? '?'}` : ''}`);
  if (e.link) parts.push(`link ${e.link}`);
  if (e.path) parts.push(s.bold(e.path));
  if (e.from !== undefined || e.to !== undefined) parts.push(`${e.from ?? '-'} -> ${e.to ?? '-'}`);
  if (e.activePath !== undefined) parts.push(`active ${e.activePath ?? 'none'}`);
  if (e.direction) parts.push(`${e.direction === 'in' ? 'received' : 'sent'}${e.cause ? ` cause=${escapeControl(e.cause)}` : ''}`);
  if (e.metrics) parts.push(Object.entries(e.metrics).map(([k, v]) => `${k}=${v}`).join(' '));
  if (e.reason) parts.push(s.dim(`(${escapeControl(e.reason)})`));
  if (e.assoc?.owners?.length) parts.push(s.dim(e.assoc.owners.map((o) => `${escapeControl(o.comm)}[${o.pid}]`).join(',')));
  parts.push(s.dim(`[${e.source}]`));
  return parts.join('  ');
}

export interface RotatingLogOptions {
  path: string;
  /** rotate when the file would grow past this */
  maxBytes: number;
  /** rotated files kept: FILE.1 … FILE.N */
  keep: number;
  /** write(2) (tests inject ENOSPC here) */
  writeSync?: (fd: number, buf: Buffer, off: number, len: number) => number;
}

// never through a symlink; a FIFO or device is refused after the open (O_NONBLOCK: a FIFO must not hang us)
const LOG_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class RotatingLog {
  private fd = -1;
  private size = 0;
  /** the file ends in half a line (left by an earlier crash): start on a fresh line */
  private fresh = false;
  private readonly writeFn: (fd: number, buf: Buffer, off: number, len: number) => number;
  /** why the log stopped, once (EventSink reports it as a log.error event) */
  private errorToReport: string | null = null;
  failed: string | null = null;
  lines = 0;
  rotations = 0;

  constructor(private o: RotatingLogOptions) {
    this.writeFn = o.writeSync ?? ((fd, buf, off, len) => writeSync(fd, buf, off, len));
    this.open();
  }

  private open(): void {
    let fd: number;
    try {
      fd = openSync(this.o.path, LOG_FLAGS, 0o640);
    } catch (e) {
      throw fileError(this.o.path, e, 'open');
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw fileError(this.o.path, Object.assign(new Error('not a regular file'), { code: 'ENXIO' }), 'open');
    }
    this.fd = fd;
    this.size = st.size;
    this.fresh = false;
    if (st.size > 0) {
      const last = Buffer.alloc(1);
      try {
        const rfd = openSync(this.o.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          readSync(rfd, last, 0, 1, st.size - 1);
        } finally {
          closeSync(rfd);
        }
        this.fresh = last[0] !== 0x0a;
      } catch {
        this.fresh = true;
      }
    }
  }

  /** The reason the log stopped, the first time it is asked; then null. */
  takeError(): string | null {
    const e = this.errorToReport;
    this.errorToReport = null;
    return e;
  }

  write(e: SctpEvent): void {
    this.writeLines([JSON.stringify(e)]);
  }

  /** Lines (JSON without '\n') in as few write(2)s as rotation allows: one per file touched. */
  writeLines(jsons: readonly string[]): void {
    if (this.failed !== null) return;
    try {
      this.reopenIfRemoved();
      this.writeAll(jsons);
    } catch (e) {
      this.fail(e);
    }
  }

  private writeAll(jsons: readonly string[]): void {
    let parts: Buffer[] = [];
    let len = 0;
    const flush = () => {
      if (len === 0) return;
      let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, len);
      if (this.fresh) buf = Buffer.concat([Buffer.from('\n'), buf]);
      const start = this.size;
      let off = 0;
      try {
        while (off < buf.length) off += this.writeFn(this.fd, buf, off, buf.length - off);
      } catch (e) {
        // never leave half a line: cut the file back to where this write began
        if (off > 0) {
          try {
            ftruncateSync(this.fd, start);
          } catch {
            /* the next run starts on a fresh line anyway */
          }
        }
        throw e;
      }
      this.fresh = false;
      this.size += buf.length;
      parts = [];
      len = 0;
    };
    for (const json of jsons) {
      const buf = Buffer.from(json + '\n', 'utf8');
      if (this.size + len > 0 && this.size + len + buf.length > this.o.maxBytes) {
        flush();
        this.rotate();
      }
      parts.push(buf);
      len += buf.length;
      this.lines++;
    }
    flush();
  }

  /** The file was deleted under us (logrotate, an operator): writing on would go nowhere. */
  private reopenIfRemoved(): void {
    if (fstatSync(this.fd).nlink > 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.open();
  }

  private fail(e: unknown): void {
    const code = (e as NodeJS.ErrnoException).code;
    this.failed = `writing ${this.o.path} failed: ${code ?? (e as Error).message}; the log is stopped, events still go to the output`;
    this.errorToReport = this.failed;
    this.close();
  }

  private rotate(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    const p = this.o.path;
    // a file removed meanwhile is no reason to stop: rotate what is there
    const mv = (from: string, to: string) => {
      try {
        renameSync(from, to);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    };
    const oldest = `${p}.${this.o.keep}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let i = this.o.keep - 1; i >= 1; i--) mv(`${p}.${i}`, `${p}.${i + 1}`);
    mv(p, `${p}.1`);
    this.open();
    this.rotations++;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fsyncSync(this.fd);
    } catch {
      /* e.g. a pipe, or the disk that failed */
    }
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
    this.fd = -1;
  }
}

/**
 * The stdout/log sink of `trace`: the lines of one turn of the event loop (a chunk of bpftrace output, a
 * procfs diff) go out in one write per destination at its end (a microtask: no event waits for a timer).
 */
export class EventSink {
  private out: string[] = [];
  private log: string[] = [];
  private queued = false;
  events = 0;

  constructor(
    private o: {
      write(text: string): void;
      /** NDJSON (true) or the human line */
      json: boolean;
      style: Style;
      rotating?: RotatingLog | null;
    },
  ) {}

  add(e: SctpEvent): void {
    const json = this.o.json || this.o.rotating ? JSON.stringify(e) : '';
    this.out.push(this.o.json ? json : formatEventLine(e, this.o.style));
    if (this.o.rotating) this.log.push(json);
    this.events++;
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.queued = false;
    if (this.out.length) {
      const text = this.out.join('\n') + '\n';
      this.out = [];
      this.o.write(text);
    }
    if (this.log.length) {
      const lines = this.log;
      this.log = [];
      this.o.rotating?.writeLines(lines);
      const err = this.o.rotating?.takeError();
      if (err) this.o.write((this.o.json ? JSON.stringify(logErrorEvent(err)) : formatEventLine(logErrorEvent(err), this.o.style)) + '\n');
    }
  }
}

/** The one event that says the --log file stopped (disk full, I/O error). */
export function logErrorEvent(reason: string): SctpEvent {
  return { schemaVersion: EVENT_SCHEMA_VERSION, time: new Date().toISOString(), type: 'log.error', source: 'sctpdiag', severity: 'fail', netns: null, reason };
}
