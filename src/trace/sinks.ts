/**
 * Where events go: one human line on a terminal, NDJSON on --json, and the
 * rotating NDJSON log (--log FILE). Every log line is written with one
 * synchronous write(2) of a complete JSON object + '\n', so a crash or kill
 * never leaves half a line; the file is fsync'ed on close.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { SctpEvent } from '../events/types.js';
import type { Style } from '../render/style.js';

export function formatEventLine(e: SctpEvent, s: Style): string {
  const t = e.time.slice(11, 23);
  const sev = e.severity === 'fail' ? s.red : e.severity === 'warn' ? s.yellow : (x: string) => x;
  const parts: string[] = [s.dim(t), sev(e.type.padEnd(17))];
  if (e.assoc) parts.push(`assoc ${e.assoc.id}${e.assoc.localPort ? ` ${e.assoc.localPort}->${e.assoc.peerPort ?? '?'}` : ''}`);
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
    this.writeLine(JSON.stringify(e));
  }

  writeLine(json: string): void {
    const buf = Buffer.from(json + '\n', 'utf8');
    if (this.size > 0 && this.size + buf.length > this.o.maxBytes) this.rotate();
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
    this.lines++;
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
