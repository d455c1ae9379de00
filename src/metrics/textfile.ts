/**
 * Textfile mode (`metrics --once --output FILE`): the exposition written for
 * node_exporter's textfile collector, atomically. A temp file beside FILE
 * (O_EXCL|O_NOFOLLOW, a name node_exporter ignores: it reads *.prom only) is
 * written, synced and renamed over FILE, so a scrape sees the old or the new
 * file, never half of one; rename replaces a symlink at FILE, never follows it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EXIT, SctpdiagError } from '../errors.js';

export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  const name = basename(file);
  if (name === '' || name === '.' || name === '..') throw new SctpdiagError(`--output ${file}: not a file name`, EXIT.USAGE);
  const fail = (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SctpdiagError(`--output ${file}: directory ${dir} does not exist`, EXIT.NOT_FOUND);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new SctpdiagError(`--output ${file}: cannot write in ${dir} (${code})`, EXIT.PERMISSION);
    throw new SctpdiagError(`--output ${file}: ${(e as Error).message}`, EXIT.FAILURE);
  };
  const existing = await lstat(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : fail(e)));
  if (existing && existing.isDirectory()) throw new SctpdiagError(`--output ${file} is a directory`, EXIT.USAGE);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644).catch(fail);
  try {
    await fh.writeFile(text);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    fail(e);
  }
}
