/**
 * Where events go: one human line on a terminal, NDJSON on --json, and the
 * rotating NDJSON log (--log FILE). Log lines are written by synchronous
 * write(2)s of complete JSON objects + '\n' (several per call when events come
 * in a burst), so a crash or kill never leaves half a line; the file is
 * fsync'ed on close. EventSink gathers the lines of one burst (everything
 * published before the event loop next turns) into one write per destination:
 * at 20k events/s a write(2) per event cost more than the rest of trace.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { SctpEvent } from '../events/types.js';
import type { Style } from '../render/style.js';

export function formatEventLine(e: SctpEvent, s: Style): string {
  const t = e.time.slice(11, 23);
  const sev = e.severity === 'fail' ? s.red : e.severity === 'warn' ? s.yellow : (x: string) => x;
  const parts: string[] = [s.dim(t), sev(e.type.padEnd(17))];
  if (e.assoc) parts.push(`assoc ${e.assoc.id}${e.assoc.localPort ? ` ${e.assoc.localPort}->${e.assoc.peerPort ?? '?'}` : ''}`);
  if (e.link) parts.push(`link ${e.link}`);
  if (e.path) parts.push(s.bold(e.path));
  if (e.from !== undefined || e.to !== undefined) parts.push(`${e.from ?? '-'} -> ${e.to ?? '-'}`);
  if (e.activePath !== undefined) parts.push(`active ${e.activePath ?? 'none'}`);
  if (e.metrics) parts.push(Object.entries(e.metrics).map(([k, v]) => `${k}=${v}`).join(' '));
  if (e.reason) parts.push(s.dim(`(${e.reason})`));
  if (e.assoc?.owners?.length) parts.push(s.dim(e.assoc.owners.map((o) => `${o.comm}[${o.pid}]`).join(',')));
  parts.push(s.dim(`[${e.source}]`));
  return parts.join('  ');
}

export interface RotatingLogOptions {
  path: string;
  /** rotate when the file would grow past this */
  maxBytes: number;
  /** rotated files kept: FILE.1 … FILE.N */
  keep: number;
}

export class RotatingLog {
  private fd: number;
  private size: number;
  lines = 0;
  rotations = 0;

  constructor(private o: RotatingLogOptions) {
    this.fd = openSync(o.path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(e: SctpEvent): void {
    this.writeLines([JSON.stringify(e)]);
  }

  writeLine(json: string): void {
    this.writeLines([json]);
  }

  /** Lines (JSON without '\n') in as few write(2)s as rotation allows: one per file touched. */
  writeLines(jsons: readonly string[]): void {
    let parts: Buffer[] = [];
    let len = 0;
    const flush = () => {
      if (len === 0) return;
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, len);
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      this.size += len;
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

  private rotate(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    const p = this.o.path;
    const oldest = `${p}.${this.o.keep}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let i = this.o.keep - 1; i >= 1; i--) if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
    renameSync(p, `${p}.1`);
    this.fd = openSync(p, 'a', 0o640);
    this.size = 0;
    this.rotations++;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fsyncSync(this.fd);
    } catch {
      /* e.g. a pipe */
    }
    closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The stdout/log sink of `trace`: one line per event, written once per burst.
 * Lines published in the same turn of the event loop (a chunk of bpftrace
 * output, one procfs diff) go out in one write at the end of that turn (a
 * microtask), so no event waits for a timer; flush() writes what is left.
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
    }
  }
}
