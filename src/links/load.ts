/**
 * Reading the links file: untrusted input, so a regular file only (no FIFO,
 * device or symlink), at most MAX_LINKS_BYTES (src/safefs.ts), and every
 * problem is a clear error naming the file before anything starts.
 */
import { EXIT, SctpdiagError } from '../errors.js';
import { readRegularFile, readRegularFileOrNull } from '../safefs.js';
import { LinksError, parseLinks, type LinkSpec } from './links.js';

export const DEFAULT_LINKS_FILE = '/etc/sctpdiag/links.conf';
export const MAX_LINKS_BYTES = 256 * 1024;

/**
 * The links of `--links FILE`, or of the default file when it exists (null
 * file: use the default). A missing explicit file is an error (exit 5); a
 * missing default file means no links.
 */
export async function loadLinks(file: string | null): Promise<LinkSpec[]> {
  const path = file ?? DEFAULT_LINKS_FILE;
  const text = file === null ? await readRegularFileOrNull(path, MAX_LINKS_BYTES) : await readRegularFile(path, MAX_LINKS_BYTES);
  if (text === null) return [];
  try {
    return parseLinks(text, path);
  } catch (e) {
    if (e instanceof LinksError) throw new SctpdiagError(e.message, EXIT.USAGE, 'see LINKS FILE in sctpdiag(8)');
    throw e;
  }
}

/** The link named NAME (--link), or a clear error naming the file and the names it has. */
export function findLink(links: readonly LinkSpec[], name: string, file: string): LinkSpec {
  const l = links.find((x) => x.name === name);
  if (l) return l;
  const shown = JSON.stringify(name.slice(0, 80));
  throw new SctpdiagError(
    `no link named ${shown} in ${file}`,
    EXIT.NOT_FOUND,
    links.length ? `its links: ${links.slice(0, 20).map((x) => x.name).join(', ')}${links.length > 20 ? ', …' : ''}` : 'the file defines no links (see LINKS FILE in sctpdiag(8))',
  );
}
