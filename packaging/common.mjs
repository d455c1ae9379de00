// Shared by the dist build steps: where things are, the version, and running tools (argv arrays, no shell).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
export const VERSION = PKG.version;
/** Everything `npm run dist` writes (git-ignored); build/ holds intermediates, the rest is shipped. */
export const OUT = join(ROOT, 'dist-pkg');
export const WORK = join(OUT, 'build');
export const BINARY_NAME = `sctpdiag-${VERSION}-linux-x64`;
/**
 * The files the program reads at run time (package-files.ts): key (path under the package root or
 * /usr/share/sctpdiag) → source. terminfo/ holds blessed's fallback entries (its parser cannot read some
 * modern system ones; in the npm package it finds them beside its own code).
 */
export function shippedFiles() {
  const out = [];
  for (const d of ['probes', 'profiles', 'schema'])
    for (const f of readdirSync(join(ROOT, d)).sort()) out.push({ key: `${d}/${f}`, src: join(ROOT, d, f) });
  const usr = join(ROOT, 'node_modules/blessed/usr');
  for (const f of readdirSync(usr, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort())
    out.push({ key: `terminfo/${f}`, src: join(usr, f) });
  return out;
}
/** Reproducible archives: every file dated from the last commit (or SOURCE_DATE_EPOCH). */
export const EPOCH = Number(process.env.SOURCE_DATE_EPOCH ?? (spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 0));

export function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts, env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH), ...opts.env } });
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r.stdout;
}

export const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

export function step(name) {
  const t0 = Date.now();
  process.stderr.write(`dist: ${name}…\n`);
  return () => process.stderr.write(`dist: ${name} done (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
