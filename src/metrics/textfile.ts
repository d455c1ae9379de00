/**
 * Textfile mode (`metrics --once --output FILE`): the exposition written for
 * node_exporter's textfile collector, atomically (src/safefs.ts: a temp file
 * beside FILE, synced and renamed over it, never through a symlink), so a
 * scrape sees the old or the new file whole. The temp name does not end in
 * .prom, so node_exporter never reads it.
 */
import { writeFileAtomicNoFollow } from '../safefs.js';

export async function writeTextfile(file: string, text: string): Promise<void> {
  await writeFileAtomicNoFollow(file, text, 0o644);
}
