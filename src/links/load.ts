/**
 * Reading the links file: untrusted input, so a regular file only (no FIFO,
 * device or symlink), at most MAX_LINKS_BYTES, and every problem is a clear
 * error with the file's name before anything starts.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { EXIT, SctpdiagError } from '../errors.js';
import { LinksError, parseLinks, type LinkSpec } from './links.js';

export const DEFAULT_LINKS_FILE = '/etc/sctpdiag/links.conf';
export const MAX_LINKS_BYTES = 256 * 1024;

async function readCapped(path: string): Promise<string> {
  // O_NONBLOCK: opening a FIFO must not hang; O_NOFOLLOW: the last component is no symlink
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SctpdiagError(`links file ${path} is not a regular file`, EXIT.USAGE);
    if (st.size > MAX_LINKS_BYTES) throw new SctpdiagError(`links file ${path} is larger than ${MAX_LINKS_BYTES} bytes`, EXIT.USAGE);
    const buf = Buffer.alloc(MAX_LINKS_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_LINKS_BYTES) throw new SctpdiagError(`links file ${path} is larger than ${MAX_LINKS_BYTES} bytes`, EXIT.USAGE);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The links of `--links FILE`, or of the default file when it exists (null
 * file: use the default). A missing explicit file is an error; a missing
 * default file means no links.
 */
export async function loadLinks(file: string | null): Promise<LinkSpec[]> {
  const path = file ?? DEFAULT_LINKS_FILE;
  let text: string;
  try {
    text = await readCapped(path);
  } catch (e) {
    if (e instanceof SctpdiagError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && file === null) return [];
    if (code === 'ENOENT') throw new SctpdiagError(`links file ${path} does not exist`, EXIT.NOT_FOUND);
    if (code === 'ELOOP') throw new SctpdiagError(`links file ${path} is a symlink: name the file itself`, EXIT.USAGE);
    if (code === 'EACCES') throw new SctpdiagError(`links file ${path}: permission denied`, EXIT.PERMISSION);
    throw new SctpdiagError(`links file ${path}: ${(e as Error).message}`, EXIT.USAGE);
  }
  try {
    return parseLinks(text, path);
  } catch (e) {
    if (e instanceof LinksError) throw new SctpdiagError(e.message, EXIT.USAGE, 'see LINKS FILE in sctpdiag(8)');
    throw e;
  }
}
